"""Batch normalization and local response normalization."""

from __future__ import annotations

from math import prod

from .base import OpDef, per_output_element, register


def same_shape(attrs, in_shapes, warn):
    return in_shapes[0]


def bn_params(attrs, in_shapes, out_shape):
    channels = in_shapes[0][0]
    return {"scale": (channels,), "shift": (channels,)}


def bn_buffers(attrs, in_shapes, out_shape):
    channels = in_shapes[0][0]
    return {"running_mean": (channels,), "running_var": (channels,)}


register(OpDef("bn", "norm", same_shape, bn_params, bn_buffers, extra_flops=per_output_element))


def lrn_flops(attrs, in_shapes, out_shape):
    return prod(out_shape) * attrs["size"]  # one per element of each window, as pooling


register(OpDef("lrn", "norm", same_shape, extra_flops=lrn_flops))

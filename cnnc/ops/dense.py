"""Fully connected layers and flattening."""

from __future__ import annotations

from math import prod

from .base import OpDef, register


def fc_infer(attrs, in_shapes, warn):
    return (attrs["units"],)


def fc_params(attrs, in_shapes, out_shape):
    tensors = {"weight": (attrs["units"], prod(in_shapes[0]))}
    if attrs["bias"]:
        tensors["bias"] = (attrs["units"],)
    return tensors


def fc_macs(attrs, in_shapes, out_shape):
    return prod(in_shapes[0]) * attrs["units"]


def fc_bias_flops(attrs, in_shapes, out_shape):
    return attrs["units"] if attrs["bias"] else 0


register(OpDef("fc", "dense", fc_infer, fc_params, macs=fc_macs, extra_flops=fc_bias_flops))
register(OpDef("flatten", "structure", lambda attrs, in_shapes, warn: (prod(in_shapes[0]),)))

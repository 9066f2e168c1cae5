"""CPU kernels of batch norm and local response norm (loops in norm_loops.py)."""

from __future__ import annotations

import numpy as np

from .. import Kernel
from . import norm_loops as loops
from .registry import register


def planes(x):
    """x (contiguous) as (N, C, S): one view for NCHW maps and (N, F) vectors."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def bn_forward(node, inputs, tensors, ctx):
    """Batch statistics in training (running ones updated as PyTorch: momentum,
    unbiased variance), running statistics in inference."""
    x, a = np.ascontiguousarray(inputs[0]), node.attrs
    if ctx.training:
        mean, var = batch_statistics(x, tensors, a["momentum"])
    else:
        mean, var = tensors["running_mean"], tensors["running_var"]
    inv_std = 1 / np.sqrt(var + a["eps"])
    dtype = x.dtype
    y = np.empty_like(x)
    scale = (tensors["scale"] * inv_std).astype(dtype)
    loops.bn_apply(planes(x), mean.astype(dtype), scale, tensors["shift"].astype(dtype), planes(y))
    return y, ((x, mean.astype(dtype), inv_std.astype(dtype)) if ctx.training else None)


def batch_statistics(x, tensors, momentum):
    """(mean, biased variance) per channel, in float64; updates the running stats in place."""
    channels = x.shape[1]
    mean, var = np.empty(channels), np.empty(channels)
    loops.bn_statistics(planes(x), mean, var)
    count = x.size // channels
    tensors["running_mean"][...] = (1 - momentum) * tensors["running_mean"] + momentum * mean
    unbiased = var * count / max(count - 1, 1)
    tensors["running_var"][...] = (1 - momentum) * tensors["running_var"] + momentum * unbiased
    return mean, var


def bn_backward(node, grad, saved, tensors, grads, ctx):
    """Through the batch statistics: forward ran in training (backward needs a training forward)."""
    x, mean, inv_std = saved
    grad = np.ascontiguousarray(grad)
    grad_x = np.empty_like(grad)
    channels = x.shape[1]
    grad_scale, grad_shift = np.empty(channels), np.empty(channels)
    loops.bn_backward(planes(x), planes(grad), mean, inv_std, tensors["scale"], planes(grad_x), grad_scale, grad_shift)
    grads["scale"] += grad_scale
    grads["shift"] += grad_shift
    return [grad_x]


register("bn")(Kernel(bn_forward, bn_backward))


def lrn_constants(attrs, dtype):
    return attrs["size"], dtype.type(attrs["alpha"]), dtype.type(attrs["beta"]), dtype.type(attrs["k"])


def lrn_forward(node, inputs, tensors, ctx):
    x = np.ascontiguousarray(inputs[0])
    y, denominator = np.empty_like(x), np.empty_like(x)
    loops.lrn_forward(planes(x), *lrn_constants(node.attrs, x.dtype), planes(y), planes(denominator))
    return y, ((x, y, denominator) if ctx.training else None)


def lrn_backward(node, grad, saved, tensors, grads, ctx):
    x, y, denominator = saved
    grad = np.ascontiguousarray(grad)
    grad_x = np.empty_like(grad)
    size, alpha, beta, _ = lrn_constants(node.attrs, grad.dtype)
    loops.lrn_backward(planes(x), planes(y), planes(denominator), planes(grad), size, alpha, beta, planes(grad_x))
    return [grad_x]


register("lrn")(Kernel(lrn_forward, lrn_backward))

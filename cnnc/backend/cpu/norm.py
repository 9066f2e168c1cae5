"""CPU kernels of batch norm (with fused_bn: + residual + ReLU) and local response norm (loops in norm_loops.py)."""

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
    unbiased variance), running statistics in inference. A fused_bn node adds its
    second input and applies its ReLU in the same pass over the output."""
    x = np.ascontiguousarray(inputs[0])
    residual, relu = fused_tail(node, inputs, x.dtype)
    floor = x.dtype.type(0 if relu else -np.inf)
    y = np.empty_like(x)
    if ctx.training:
        saved = train_forward(x, y, tensors, node.attrs, residual, floor)
        return y, (*saved, y if relu else None)
    inv_std = 1 / np.sqrt(tensors["running_var"] + node.attrs["eps"])
    scale, shift = (tensors["scale"] * inv_std).astype(x.dtype), tensors["shift"]
    loops.bn_apply(planes(x), tensors["running_mean"], scale, shift, residual, floor, planes(y))
    return y, None


def fused_tail(node, inputs, dtype):
    """(the residual as (N, C, S) planes, or an empty array; whether a ReLU follows) of a bn or fused_bn node."""
    if node.op == "bn" or not node.attrs["residual"]:
        return np.empty((0, 0, 0), dtype), node.op == "fused_bn" and node.attrs["activation"] == "relu"
    return planes(np.ascontiguousarray(inputs[1], dtype=dtype)), node.attrs["activation"] == "relu"


def train_forward(x, y, tensors, attrs, residual, floor):
    """y from the batch statistics (float64); updates the running stats in place; returns what backward needs."""
    channels = x.shape[1]
    mean, var, inv_std = np.empty(channels), np.empty(channels), np.empty(channels)
    loops.bn_train_forward(
        planes(x), tensors["scale"], tensors["shift"], attrs["eps"], residual, floor, planes(y), mean, var, inv_std
    )
    count, momentum = x.size // channels, attrs["momentum"]
    tensors["running_mean"][...] = (1 - momentum) * tensors["running_mean"] + momentum * mean
    unbiased = var * count / max(count - 1, 1)
    tensors["running_var"][...] = (1 - momentum) * tensors["running_var"] + momentum * unbiased
    return x, mean.astype(x.dtype), inv_std.astype(x.dtype)


def bn_backward(node, grad, saved, tensors, grads, ctx):
    """Through the batch statistics: forward ran in training (backward needs a training forward).
    A fused_bn node masks the gradient by its ReLU's output on the way, and hands its residual
    input the masked gradient."""
    x, mean, inv_std, y = saved
    grad = np.ascontiguousarray(grad)
    grad_x = np.empty_like(grad)
    residual = node.op == "fused_bn" and node.attrs["residual"]
    empty = np.empty((0, 0, 0), grad.dtype)
    grad_z = np.empty_like(grad) if residual and y is not None else None
    channels = x.shape[1]
    grad_scale, grad_shift = np.empty(channels), np.empty(channels)
    loops.bn_backward(
        planes(x),
        planes(grad),
        empty if y is None else planes(y),
        mean,
        inv_std,
        tensors["scale"],
        planes(grad_x),
        empty if grad_z is None else planes(grad_z),
        grad_scale,
        grad_shift,
    )
    grads["scale"] += grad_scale
    grads["shift"] += grad_shift
    if not residual:
        return [grad_x]
    return [grad_x, grad if grad_z is None else grad_z]


register("bn")(Kernel(bn_forward, bn_backward))
register("fused_bn")(Kernel(bn_forward, bn_backward))


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

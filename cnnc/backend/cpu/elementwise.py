"""CPU kernels of the activations, PReLU, maxout, softmax, dropout and identity.

The loops live in activations.py (shared with the fused kernels) and
channel_loops.py; here each op gets its forward and backward. Inputs may be
views (a slice's output), so each kernel makes them contiguous first: a no-op
for the usual contiguous array. Kernels never write into their inputs or
into grad_output (add hands the same gradient to both of its inputs).
"""

from __future__ import annotations

import numpy as np

from .. import Kernel
from . import channel_loops as loops
from .activations import ACTIVATIONS, activate, activation_grad
from .registry import register


def planes(x):
    """x (contiguous) as (N, C, S): one view for NCHW maps and (N, F) vectors."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def activation_kernel(op: str) -> Kernel:
    def forward(node, inputs, tensors, ctx):
        x = np.ascontiguousarray(inputs[0])
        y = activate(op, node.attrs, x)
        return y, ((x, y) if ctx.training else None)

    def backward(node, grad, saved, tensors, grads, ctx):
        x, y = saved
        return [activation_grad(op, node.attrs, x, y, np.ascontiguousarray(grad))]

    return Kernel(forward, backward)


for _op in ACTIVATIONS:
    register(_op)(activation_kernel(_op))


def prelu_forward(node, inputs, tensors, ctx):
    x = np.ascontiguousarray(inputs[0])
    y = np.empty_like(x)
    loops.prelu_forward(planes(x), tensors["slope"], planes(y))
    return y, (x if ctx.training else None)


def prelu_backward(node, grad, x, tensors, grads, ctx):
    grad = np.ascontiguousarray(grad)
    grad_x, grad_slope = np.empty_like(grad), np.empty_like(tensors["slope"])
    loops.prelu_backward(planes(x), tensors["slope"], planes(grad), planes(grad_x), grad_slope)
    grads["slope"] += grad_slope
    return [grad_x]


register("prelu")(Kernel(prelu_forward, prelu_backward))


def maxout_forward(node, inputs, tensors, ctx):
    x, k = np.ascontiguousarray(inputs[0]), node.attrs["k"]
    y = np.empty((x.shape[0], x.shape[1] // k, *x.shape[2:]), dtype=x.dtype)
    loops.maxout_forward(planes(x), k, planes(y))
    return y, (x if ctx.training else None)


def maxout_backward(node, grad, x, tensors, grads, ctx):
    grad_x = np.empty_like(x)
    loops.maxout_backward(planes(x), node.attrs["k"], planes(np.ascontiguousarray(grad)), planes(grad_x))
    return [grad_x]


register("maxout")(Kernel(maxout_forward, maxout_backward))


def softmax_forward(node, inputs, tensors, ctx):
    """Over channels, shifted by the max: numpy's SIMD exp and reductions (as the
    reference) beat a Numba loop, whose exp is scalar and whose channel walk is strided."""
    x = inputs[0]
    y = np.exp(x - x.max(axis=1, keepdims=True))
    y /= y.sum(axis=1, keepdims=True)
    return y, (y if ctx.training else None)


def softmax_backward(node, grad, y, tensors, grads, ctx):
    """y * (g - sum over channels of g*y)."""
    return [y * (grad - (grad * y).sum(axis=1, keepdims=True))]


register("softmax")(Kernel(softmax_forward, softmax_backward))


def dropout_forward(node, inputs, tensors, ctx):
    """Inverted dropout with the reference's mask: ctx.rng.random(x.shape) >= p, drawn
    in float64 and in graph order, so that a seeded run equals the reference's."""
    x, p = inputs[0], node.attrs["p"]
    if not ctx.training or p == 0:
        return x, None
    x = np.ascontiguousarray(x)
    u = ctx.rng.random(x.shape)
    y, keep = np.empty_like(x), np.empty(x.shape, dtype=np.bool_)
    scale = x.dtype.type(1 / (1 - p))
    loops.dropout_forward(x.reshape(-1), u.reshape(-1), p, scale, y.reshape(-1), keep.reshape(-1))
    return y, keep


def dropout_backward(node, grad, keep, tensors, grads, ctx):
    if keep is None:  # p == 0: the identity
        return [grad]
    grad = np.ascontiguousarray(grad)
    grad_x = np.empty_like(grad)
    scale = grad.dtype.type(1 / (1 - node.attrs["p"]))
    loops.dropout_backward(grad.reshape(-1), keep.reshape(-1), scale, grad_x.reshape(-1))
    return [grad_x]


register("dropout")(Kernel(dropout_forward, dropout_backward))


def identity_forward(node, inputs, tensors, ctx):
    return inputs[0], None


def identity_backward(node, grad, saved, tensors, grads, ctx):
    return [grad]


register("identity")(Kernel(identity_forward, identity_backward))

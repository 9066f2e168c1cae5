"""fc and flatten: one GEMM each way, and a reshape.

fc:  y = x2 @ W.T + b, with x2 = x.reshape(N, -1) (a view of a contiguous input)
     dW += dy.T @ x2,   db += sum of dy over the batch,   dx = (dy @ W).reshape(x.shape)
The transposes are views: numpy hands BLAS the transpose flag, nothing is copied.
"""

from __future__ import annotations

from .. import Kernel
from .blas import matmul
from .registry import register


def fc_forward(node, inputs, tensors, ctx):
    x = inputs[0]
    x2 = x.reshape(x.shape[0], -1)
    out = matmul(x2, tensors["weight"].T)
    if node.attrs["bias"]:
        out += tensors["bias"]
    return out, ((x2, x.shape) if ctx.training else None)


def fc_backward(node, grad_output, saved, tensors, grads, ctx):
    x2, shape = saved
    grads["weight"] += matmul(grad_output.T, x2)
    if node.attrs["bias"]:
        grads["bias"] += grad_output.sum(axis=0)
    if not ctx.needs_grad(node):
        return [None]
    return [matmul(grad_output, tensors["weight"]).reshape(shape)]


def flatten_forward(node, inputs, tensors, ctx):
    x = inputs[0]
    return x.reshape(x.shape[0], -1), (x.shape if ctx.training else None)


def flatten_backward(node, grad_output, saved, tensors, grads, ctx):
    return [grad_output.reshape(saved)]


register("fc")(Kernel(fc_forward, fc_backward))
register("flatten")(Kernel(flatten_forward, flatten_backward))

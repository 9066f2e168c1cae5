"""CPU kernels of the ops passes create: fused conv/fc (+ bias + residual + activation) and slice.

A fused node runs its base kernel (conv.py's, dense.py's) without the bias,
then one parallel pass over the output adds the bias and the residual and
applies the activation (activations.py), in place in inference. Training
keeps the pre-activation for backward, so there the two are separate passes,
and with no residual the base kernel adds the bias itself, as unfused;
backward runs the activation's derivative, then the base kernel's backward,
and hands the residual input the gradient of the sum. Fusions run at -O2 for
inference, but the backward makes a fused graph trainable all the same.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np

from .. import Kernel
from .activations import activate, activation_grad
from .conv import direct_forward, geometry, goes_direct
from .registry import KERNELS, register


def base_node(node, base: str, bias: bool):
    """The node as its base op, with its bias or without (the fused pass then adds it)."""
    return dataclasses.replace(
        node, op=base, attrs=MappingProxyType({**node.attrs, "bias": node.attrs["bias"] and bias})
    )


def base_adds_bias(node, training: bool) -> bool:
    """Whether the base kernel adds the bias: in training without a residual, as the unfused
    conv would (the direct convs add it in their crop, at no cost; the activation then writes a
    new array, since backward needs the pre-activation), else the fused pass does."""
    return training and not node.attrs["residual"]


def fused_kernel(base: str) -> Kernel:
    def forward(node, inputs, tensors, ctx):
        if base == "conv" and node.attrs["activation"] == "relu" and not node.attrs["residual"]:
            x = np.ascontiguousarray(inputs[0])
            g = geometry(node, x)
            if goes_direct(g, x):  # bias and ReLU in the direct conv's crop: no pass of their own
                y, base_saved = direct_forward(base_node(node, base, True), x, g, tensors, ctx, relu=True)
                return y, ((base_saved, y, y) if ctx.training else None)  # ReLU's backward reads y alone
        own_bias = base_adds_bias(node, ctx.training)
        z, base_saved = KERNELS[base].forward(base_node(node, base, own_bias), inputs[:1], tensors, ctx)
        bias = tensors["bias"] if node.attrs["bias"] and not own_bias else None
        residual = np.ascontiguousarray(inputs[1]) if node.attrs["residual"] else None
        activation = node.attrs["activation"]
        if activation == "none" and bias is None and residual is None:
            return z, ((base_saved, z, z) if ctx.training else None)
        if not ctx.training:
            return activate(activation, node.attrs, z, bias, residual, out=z), None
        if bias is not None or residual is not None:
            activate("none", node.attrs, z, bias, residual, out=z)  # z is now the pre-activation
        y = z if activation == "none" else activate(activation, node.attrs, z)
        return y, (base_saved, z, y)

    def backward(node, grad, saved, tensors, grads, ctx):
        base_saved, z, y = saved
        activation, own_bias = node.attrs["activation"], base_adds_bias(node, True)
        grad = np.ascontiguousarray(grad)
        grad_z = grad if activation == "none" else activation_grad(activation, node.attrs, z, y, grad)
        if node.attrs["bias"] and not own_bias:
            grads["bias"] += grad_z.sum(axis=(0, *range(2, grad_z.ndim)))
        inner = base_node(node, base, own_bias)
        (grad_x,) = KERNELS[base].backward(inner, grad_z, base_saved, tensors, grads, ctx)
        return [grad_x, grad_z] if node.attrs["residual"] else [grad_x]

    return Kernel(forward, backward)


register("fused_conv")(fused_kernel("conv"))
register("fused_fc")(fused_kernel("fc"))


def slice_forward(node, inputs, tensors, ctx):
    """Channels [start, stop): a view, no copy (kernels reading it make it contiguous if they must)."""
    return inputs[0][:, node.attrs["start"] : node.attrs["stop"]], None


def slice_backward(node, grad, saved, tensors, grads, ctx):
    """The gradient in the slice's channels, zero elsewhere (the executor sums the slices of one input)."""
    grad_x = np.zeros((grad.shape[0], *node.inputs[0].meta["shape"]), dtype=grad.dtype)
    grad_x[:, node.attrs["start"] : node.attrs["stop"]] = grad
    return [grad_x]


register("slice")(Kernel(slice_forward, slice_backward))

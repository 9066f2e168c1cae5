"""Element-wise activations, PReLU, maxout and softmax."""

from __future__ import annotations

from math import prod

from .base import OpDef, ShapeError, per_output_element, register


def same_shape(attrs, in_shapes, warn):
    return in_shapes[0]


for _name in ("relu", "relu6", "sigmoid", "tanh", "selu", "leaky_relu", "elu", "softmax"):
    register(OpDef(_name, "activation", same_shape, extra_flops=per_output_element))


def prelu_params(attrs, in_shapes, out_shape):
    return {"slope": (in_shapes[0][0],)}  # one slope per channel (or per feature)


register(OpDef("prelu", "activation", same_shape, prelu_params, extra_flops=per_output_element))


def maxout_infer(attrs, in_shapes, warn):
    channels, *rest = in_shapes[0]
    k = attrs["k"]
    if channels % k:
        raise ShapeError(
            f"maxout {k} needs a channel count divisible by {k}, got {channels}",
            f"{channels} channels would leave {channels % k} over",
        )
    return (channels // k, *rest)


def maxout_flops(attrs, in_shapes, out_shape):
    return prod(in_shapes[0])  # one comparison per input element


register(OpDef("maxout", "activation", maxout_infer, extra_flops=maxout_flops))

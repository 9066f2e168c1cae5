"""Ops that only passes create: fused conv/fc/bn (+ residual add + activation) and channel slices.

A fused node has its base op's attributes plus ``activation`` (an element-wise
op name, or "none", with ``alpha`` where that op takes one) and ``residual``
(true when an add was fused: the node then reads a second input, added before
the activation). Params and MACs are the base op's; extra FLOPs add up what
was fused, so counts before and after fusion agree.
"""

from __future__ import annotations

from math import prod

from .base import OpDef, ShapeError, fmt_shape, register, spatial
from .conv import bias_flops, conv_infer, conv_macs, conv_params
from .dense import fc_bias_flops, fc_infer, fc_macs, fc_params
from .norm import bn_buffers, bn_params, same_shape

# Activations a fused node can apply: element-wise and without parameters.
FUSABLE_ACTIVATIONS = ("relu", "relu6", "sigmoid", "tanh", "selu", "leaky_relu", "elu")
# A fused bn applies ReLU inside its normalizing loop (and masks its gradient in
# backward's), the others not at all.
BN_ACTIVATIONS = ("relu",)


def _fused_infer(base_infer):
    def infer(attrs, in_shapes, warn):
        shape = tuple(base_infer(attrs, in_shapes[:1], warn))
        if len(in_shapes) != (2 if attrs["residual"] else 1):
            raise ShapeError(f"takes {2 if attrs['residual'] else 1} inputs, got {len(in_shapes)}")
        if attrs["residual"] and tuple(in_shapes[1]) != shape:
            raise ShapeError(f"residual input {fmt_shape(in_shapes[1])} differs from the output {fmt_shape(shape)}")
        return shape

    return infer


def _first_input(count):
    """A base op's count, over the main input only (the residual adds no params or MACs)."""
    return lambda attrs, in_shapes, out_shape: count(attrs, in_shapes[:1], out_shape)


def _fused_flops(base_extra):
    """Bias, then one FLOP per output element for the residual add and for the activation."""

    def extra(attrs, in_shapes, out_shape):
        per_element = prod(out_shape)
        fused = per_element * (int(attrs["residual"]) + int(attrs["activation"] != "none"))
        return base_extra(attrs, in_shapes[:1], out_shape) + fused

    return extra


register(
    OpDef(
        "fused_conv", "conv", _fused_infer(conv_infer), _first_input(conv_params),
        macs=_first_input(conv_macs), extra_flops=_fused_flops(bias_flops), arity=None,
    )
)  # fmt: skip
register(
    OpDef(
        "fused_fc", "dense", _fused_infer(fc_infer), _first_input(fc_params),
        macs=_first_input(fc_macs), extra_flops=_fused_flops(fc_bias_flops), arity=None,
    )
)  # fmt: skip


register(
    OpDef(
        "fused_bn", "norm", _fused_infer(same_shape), _first_input(bn_params), _first_input(bn_buffers),
        extra_flops=_fused_flops(lambda attrs, in_shapes, out_shape: prod(out_shape)), arity=None,
    )
)  # fmt: skip


def slice_infer(attrs, in_shapes, warn):
    """Channels [start, stop) of a feature map: a view of its input, no copy."""
    channels, *rest = spatial(in_shapes[0], "slice")
    start, stop = attrs["start"], attrs["stop"]
    if not 0 <= start < stop <= channels:
        raise ShapeError(f"channel slice {start}:{stop} is outside the input's {channels} channels")
    return (stop - start, *rest)


register(OpDef("slice", "structure", slice_infer))

"""Convolution and pooling: shapes, parameters and counts."""

from __future__ import annotations

from math import prod

from .base import OpDef, ShapeError, register, spatial
from .size import window_out


def _windows(attrs, shape, op, warn):
    """Output H, W of a sliding window op, warning about unreached rows/columns."""
    sizes, dropped = [], []
    for i, axis in enumerate(("rows", "columns")):
        w = window_out(
            shape[1 + i], attrs["kernel"][i], attrs["stride"][i], attrs["pad"][i],
            attrs.get("dilation", (1, 1))[i], attrs.get("ceil", False),
        )  # fmt: skip
        if w.out < 1:
            raise ShapeError(
                f"{op} output would have {w.out} {axis}: the input is too small",
                f"(N + 2P - F)/S + 1 = {w.formula}",
            )
        if w.dropped:
            dropped.append(f"{w.dropped} {axis if w.dropped > 1 else axis[:-1]} ({w.formula} is not exact)")
        sizes.append(w.out)
    if dropped:
        warn(f"drops the last {' and '.join(dropped)}: no window reaches them")
    return tuple(sizes)


def conv_infer(attrs, in_shapes, warn):
    channels, _, _ = spatial(in_shapes[0], "conv")
    groups, out_channels = attrs["groups"], attrs["out_channels"]
    if channels % groups:
        raise ShapeError(f"groups {groups} does not divide the {channels} input channels")
    if out_channels % groups:
        raise ShapeError(f"groups {groups} does not divide the {out_channels} output channels")
    return (out_channels, *_windows(attrs, in_shapes[0], "conv", warn))


def conv_params(attrs, in_shapes, out_shape):
    cin = in_shapes[0][0] // attrs["groups"]
    tensors = {"weight": (attrs["out_channels"], cin, *attrs["kernel"])}
    if attrs["bias"]:
        tensors["bias"] = (attrs["out_channels"],)
    return tensors


def conv_macs(attrs, in_shapes, out_shape):
    return prod(out_shape) * (in_shapes[0][0] // attrs["groups"]) * prod(attrs["kernel"])


def bias_flops(attrs, in_shapes, out_shape):
    return prod(out_shape) if attrs["bias"] else 0


register(OpDef("conv", "conv", conv_infer, conv_params, macs=conv_macs, extra_flops=bias_flops))


def pool_infer(attrs, in_shapes, warn):
    channels, height, width = spatial(in_shapes[0], f"pool {attrs['mode']}")
    if attrs["global"]:
        return (channels, 1, 1)
    return (channels, *_windows(attrs, in_shapes[0], "pool", warn))


def pool_flops(attrs, in_shapes, out_shape):
    """One per window element: a comparison (max) or an addition (avg, l2)."""
    if attrs["global"]:
        return prod(in_shapes[0])
    return prod(out_shape) * prod(attrs["kernel"])


register(OpDef("pool", "pool", pool_infer, extra_flops=pool_flops))

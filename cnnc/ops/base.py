"""OpDef: everything cnnc knows about one op, in one place.

Shapes are per image, without the batch: (C, H, W) for feature maps and (N,)
for vectors. ``infer`` raises ShapeError; the analysis adds the location.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod

Shape = tuple


class ShapeError(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def no_tensors(attrs, in_shapes, out_shape) -> dict:
    return {}


def no_count(attrs, in_shapes, out_shape) -> int:
    return 0


def per_output_element(attrs, in_shapes, out_shape) -> int:
    return prod(out_shape)


@dataclass(frozen=True)
class OpDef:
    name: str
    family: str  # conv, pool, dense, activation, norm, structure: for reports and colours
    infer: Callable  # (attrs, in_shapes, warn) -> out_shape
    params: Callable = no_tensors  # -> {name: shape} of learnable tensors
    buffers: Callable = no_tensors  # -> {name: shape} of non-learned state (BN running stats)
    macs: Callable = no_count  # multiply-accumulates (conv and fc only, by the contract)
    extra_flops: Callable = no_count  # FLOPs beyond 2*MACs: bias, activation, BN, pool, add
    arity: int | None = 1  # None: any number of inputs


OPS: dict[str, OpDef] = {}


def register(op: OpDef) -> OpDef:
    OPS[op.name] = op
    return op


def spatial(shape: Shape, op: str) -> Shape:
    """The (C, H, W) shape an op needs, or a ShapeError saying what came instead."""
    if len(shape) != 3:
        raise ShapeError(
            f"{op} needs a CxHxW input, got the vector {fmt_shape(shape)}",
            "feature maps become a vector at an fc or flatten (or the network's input is one)",
        )
    return shape


def fmt_shape(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)

"""Graph structure: input, identity, dropout, concat and residual add."""

from __future__ import annotations

from .base import OpDef, ShapeError, fmt_shape, per_output_element, register


def input_infer(attrs, in_shapes, warn):
    return attrs["shape"]


def same_shape(attrs, in_shapes, warn):
    return in_shapes[0]


def concat_infer(attrs, in_shapes, warn):
    first = in_shapes[0]
    for shape in in_shapes:
        if len(shape) != len(first) or shape[1:] != first[1:]:
            raise ShapeError(
                "concat branches must agree in everything but channels",
                "branch outputs: " + ", ".join(fmt_shape(s) for s in in_shapes),
            )
    return (sum(shape[0] for shape in in_shapes), *first[1:])


def add_infer(attrs, in_shapes, warn):
    body, shortcut = in_shapes
    if body != shortcut:
        raise ShapeError(
            f"residual shapes differ: body gives {fmt_shape(body)}, shortcut gives {fmt_shape(shortcut)}",
            "the body must keep its input's shape, or give a shortcut { ... } that matches it",
        )
    return body


register(OpDef("input", "structure", input_infer, arity=0))
register(OpDef("identity", "structure", same_shape))
register(OpDef("dropout", "structure", same_shape))
register(OpDef("concat", "structure", concat_infer, arity=None))
register(OpDef("add", "structure", add_infer, extra_flops=per_output_element, arity=2))

"""Shape inference and counting: fills each node's meta, changes nothing else.

meta: shape, params {name: shape}, buffers {name: shape}, param_count,
buffer_count, macs, flops, activations (output elements per image).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from .errors import CnncError, Diagnostic
from .ir import Graph
from .ops import OPS, ShapeError


def annotate(graph: Graph, strict: bool = False) -> list[Diagnostic]:
    """Infer every shape and count; return the warnings (errors when strict)."""
    warnings: list[Diagnostic] = []
    for node in graph.nodes:
        op = OPS[node.op]
        in_shapes = [i.meta["shape"] for i in node.inputs]

        def warn(message, node=node):
            text = f"{node.name}: {message}"
            if strict:
                raise CnncError(text, node.loc, "--strict makes this an error")
            warnings.append(Diagnostic("warning", text, node.loc))

        try:
            shape = tuple(op.infer(node.attrs, in_shapes, warn))
        except ShapeError as error:
            raise CnncError(f"{node.name}: {error.message}", node.loc, error.hint) from None
        params = op.params(node.attrs, in_shapes, shape)
        buffers = op.buffers(node.attrs, in_shapes, shape)
        macs = op.macs(node.attrs, in_shapes, shape)
        node.meta.update(
            shape=shape,
            params=params,
            buffers=buffers,
            param_count=sum(prod(s) for s in params.values()),
            buffer_count=sum(prod(s) for s in buffers.values()),
            macs=macs,
            flops=2 * macs + op.extra_flops(node.attrs, in_shapes, shape),
            activations=prod(shape),
        )
    return warnings


@dataclass(frozen=True)
class Totals:
    layers: int
    params: int
    buffers: int
    macs: int
    flops: int
    activations: int  # output elements of every layer, per image


def totals(graph: Graph) -> Totals:
    layers = graph.layers()
    return Totals(
        layers=len(layers),
        params=sum(n.meta["param_count"] for n in layers),
        buffers=sum(n.meta["buffer_count"] for n in layers),
        macs=sum(n.meta["macs"] for n in layers),
        flops=sum(n.meta["flops"] for n in layers),
        activations=sum(n.meta["activations"] for n in layers),
    )

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


def receptive_fields(graph: Graph) -> None:
    """meta['rf'] and meta['jump'] per node: the input window a unit sees, (h, w).

    r_out = r_in + (k - 1) * d * j_in and j_out = j_in * s (Araujo et al.,
    Distill 2019). Where paths join (concat, residual add) the largest window
    over all paths is kept. Global pooling and fc see their whole input map.
    Networks with a vector input have no receptive field (None).
    """
    for node in graph.nodes:
        if node.op == "input":
            spatial = len(node.meta["shape"]) == 3
            node.meta["rf"], node.meta["jump"] = ((1, 1), (1, 1)) if spatial else (None, None)
            continue
        sources = [i for i in node.inputs if i.meta["rf"] is not None]
        if not sources:
            node.meta["rf"] = node.meta["jump"] = None
            continue
        rf = tuple(max(s.meta["rf"][a] for s in sources) for a in (0, 1))
        jump = tuple(max(s.meta["jump"][a] for s in sources) for a in (0, 1))
        in_shape = node.inputs[0].meta["shape"]
        window = _window(node, in_shape)
        if window is not None:
            kernel, stride, dilation = window
            rf = tuple(rf[a] + (kernel[a] - 1) * dilation[a] * jump[a] for a in (0, 1))
            jump = tuple(jump[a] * stride[a] for a in (0, 1))
        node.meta["rf"], node.meta["jump"] = rf, jump


def _window(node, in_shape):
    """(kernel, stride, dilation) of a node that slides a window, else None."""
    whole_map = len(in_shape) == 3 and (
        node.op in ("fc", "fused_fc", "flatten") or (node.op == "pool" and node.attrs["global"])
    )
    if whole_map:
        return in_shape[1:], (1, 1), (1, 1)
    if node.op in ("conv", "fused_conv") or (node.op == "pool" and not node.attrs["global"]):
        return node.attrs["kernel"], node.attrs["stride"], node.attrs.get("dilation", (1, 1))
    return None

"""Horizontal fusion (TVM's CombineParallelConv2D, TensorRT's horizontal layer fusion):
sibling convs that read the same tensor with the same window become one conv.

The head of an inception module reads one tensor with three 1x1 convs; one
conv with their output channels stacked reads the input once and launches one
kernel. Each sibling becomes a zero-copy ``slice`` of the stacked output (its
channels [start, stop)), named as the sibling was, so its readers are untouched.
Siblings must agree in kernel, stride, padding, dilation, bias and (when
already fused) activation; grouped convs and fused residual adds are left alone.
"""

from __future__ import annotations

from ..ir import Graph, Node, make_node
from .rewrite import fused_node, infer_shape, note, remove, replace_uses, unique_name

STACKABLE = ("conv", "fused_conv")
SAME = ("kernel", "stride", "pad", "dilation", "bias", "activation", "alpha")


def fuse_horizontal(graph: Graph) -> bool:
    groups = sibling_groups(graph)
    for group in groups:
        stack(graph, group)
    convs = sum(len(group) for group in groups)
    note(graph, "fuse_horizontal", f"{len(groups)} groups, {convs} convs -> {len(groups)}")
    return bool(groups)


def sibling_groups(graph: Graph) -> list[list[Node]]:
    """Convs with the same input and window, two or more, in graph order."""
    found: dict[tuple, list[Node]] = {}
    for node in graph.nodes:
        if node.op in STACKABLE and node.attrs["groups"] == 1 and not node.attrs.get("residual"):
            key = (id(node.inputs[0]), node.op, *(node.attrs.get(name) for name in SAME))
            found.setdefault(key, []).append(node)
    return [group for group in found.values() if len(group) > 1]


def stack(graph: Graph, group: list[Node]) -> None:
    first = group[0]
    out_channels = sum(conv.attrs["out_channels"] for conv in group)
    name = unique_name(graph, scope_of(group) + "stacked_conv")
    stacked = fused_node(name, first.op, first.inputs, {**first.attrs, "out_channels": out_channels}, group)
    slices, start = [], 0
    for conv in group:
        stop = start + conv.attrs["out_channels"]
        view = make_node(conv.name, "slice", [stacked], {"start": start, "stop": stop}, conv.loc)
        infer_shape(view)
        replace_uses(graph, conv, view)
        slices.append(view)
        start = stop
    weights = stacked_weights(graph.weights, group) if graph.weights is not None else None
    at = graph.nodes.index(first)
    graph.nodes[at:at] = [stacked, *slices]
    remove(graph, group)
    if weights is not None:
        graph.weights[name] = weights


def scope_of(group: list[Node]) -> str:
    """The deepest name scope the siblings share ('inception1/concat1/'), or ''."""
    paths = [conv.name.split("/")[:-1] for conv in group]
    common = []
    for parts in zip(*paths, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "".join(part + "/" for part in common)


def stacked_weights(weights: dict, group: list[Node]) -> dict:
    import numpy as np  # only when weights are bound: `cnnc check` never loads numpy

    tensors = [weights[conv.name] for conv in group]
    return {name: np.concatenate([t[name] for t in tensors], axis=0) for name in tensors[0]}

"""Shared by eliminate_identity and eliminate_dropout: drop nodes that pass their input on."""

from __future__ import annotations

from ..ir import Graph
from .rewrite import note, remove, replace_uses


def forward_through(graph: Graph, op: str, pass_name: str) -> bool:
    """Remove every ``op`` node, its readers reading its input instead.

    The graph's output is its last node, so an ``op`` node that is the output
    goes only when its input comes right before it (and becomes the output).
    """
    doomed = []
    for index, node in enumerate(graph.nodes):
        if node.op != op:
            continue
        if node is graph.output and node.inputs[0] is not graph.nodes[index - 1]:
            continue
        replace_uses(graph, node, node.inputs[0])
        doomed.append(node)
    remove(graph, doomed)
    note(graph, pass_name, f"{len(doomed)} {op} removed")
    return bool(doomed)

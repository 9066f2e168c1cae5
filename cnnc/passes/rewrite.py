"""What every pass needs to edit a graph: readers, rewiring, removal, fused nodes.

Passes keep ``meta["shape"]`` right on the nodes they make (``infer_shape``),
so the verifier that runs after each pass checks them against their inputs;
the driver then refreshes the counts with a full annotate.
"""

from __future__ import annotations

from types import MappingProxyType

from ..ir import Graph, Node, make_node
from ..ops import OPS


def readers(graph: Graph) -> dict[str, list[Node]]:
    """{node name: the nodes that read it}, once per input slot (add(x, x) reads x twice)."""
    table: dict[str, list[Node]] = {node.name: [] for node in graph.nodes}
    for node in graph.nodes:
        for source in node.inputs:
            table[source.name].append(node)
    return table


def only_reader(graph: Graph, node: Node, table: dict[str, list[Node]]) -> Node | None:
    """The one node that reads ``node``, if exactly one does and ``node`` is not the output."""
    found = table[node.name]
    if node is graph.output or len(found) != 1:
        return None
    return found[0]


def replace_uses(graph: Graph, old: Node, new: Node) -> None:
    for node in graph.nodes:
        node.inputs = [new if source is old else source for source in node.inputs]


def remove(graph: Graph, doomed: list[Node]) -> None:
    """Drop nodes (and their bound weights); their readers must have been rewired."""
    gone = {id(node) for node in doomed}
    graph.nodes = [node for node in graph.nodes if id(node) not in gone]
    if graph.weights is not None:
        for node in doomed:
            graph.weights.pop(node.name, None)


def set_attrs(node: Node, **changes) -> None:
    node.attrs = MappingProxyType({**node.attrs, **changes})
    infer_shape(node)


def infer_shape(node: Node) -> None:
    node.meta["shape"] = tuple(OPS[node.op].infer(node.attrs, [i.meta["shape"] for i in node.inputs], lambda _: None))


def origins(parts: list[Node]) -> tuple[list[str], list]:
    """The source nodes (names, locations) that ``parts`` stand for, earlier fusions unrolled."""
    names, locs = [], []
    for part in parts:
        names += part.meta.get("fused_from", [part.name])
        locs += part.meta.get("fused_locs", [part.loc])
    return names, locs


def mark_fused(node: Node, parts: list[Node]) -> None:
    """Record on ``node`` what it replaced, so reports and errors trace it to the .cnn lines."""
    node.meta["fused_from"], node.meta["fused_locs"] = origins(parts)


def fused_node(name: str, op: str, inputs: list[Node], attrs: dict, parts: list[Node]) -> Node:
    """A new node standing for ``parts``; the first part is the primary (its location is kept)."""
    node = make_node(name, op, inputs, attrs, parts[0].loc)
    mark_fused(node, parts)
    infer_shape(node)
    return node


def unique_name(graph: Graph, base: str) -> str:
    taken = {node.name for node in graph.nodes}
    count = 1
    while f"{base}{count}" in taken:
        count += 1
    return f"{base}{count}"


def note(graph: Graph, name: str, text: str) -> None:
    graph.meta.setdefault("pass_notes", {})[name] = text

"""The graph IR: nodes in topological order, a verifier and a stable printer.

A Node is (name, op, inputs, attrs, meta) as in torch.fx: ``attrs`` are what
the source said (frozen), ``meta`` is what analyses computed (shape, params,
macs, flops, activations) and where the node came from (``loc``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from .errors import CnncError, Loc
from .ops import OPS, fmt_shape


@dataclass(eq=False)
class Node:
    name: str
    op: str
    inputs: list[Node]
    attrs: MappingProxyType
    meta: dict = field(default_factory=dict)

    @property
    def loc(self) -> Loc | None:
        return self.meta.get("loc")

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.op!r})"


@dataclass(eq=False)
class Graph:
    name: str
    source: str
    nodes: list[Node]
    train: dict = field(default_factory=dict)  # the network's train { } section
    meta: dict = field(default_factory=dict)  # graph-level analysis results (warnings, scopes)
    # Bound weights, when there are any: {node name: {param or buffer name: numpy array}}.
    # Passes that rewrite parameters (fold_bn, fuse_horizontal) rewrite these too.
    weights: dict | None = None

    @property
    def input(self) -> Node:
        return self.nodes[0]

    @property
    def output(self) -> Node:
        return self.nodes[-1]

    def layers(self) -> list[Node]:
        """Every node but the input."""
        return self.nodes[1:]


def make_node(name: str, op: str, inputs: list[Node], attrs: dict, loc: Loc | None) -> Node:
    return Node(name, op, list(inputs), MappingProxyType(dict(attrs)), {"loc": loc})


def verify(graph: Graph, after: str = "lowering") -> None:
    """Check the IR invariants; a failure is a compiler bug, named by its pass."""
    seen: set[int] = set()
    names: set[str] = set()

    def fail(node, problem):
        raise CnncError(f"internal error: IR invalid after {after}: node '{node.name}' {problem}", node.loc)

    if not graph.nodes or graph.nodes[0].op != "input":
        raise CnncError(f"internal error: IR invalid after {after}: the first node is not the input")
    for node in graph.nodes:
        if node.op not in OPS:
            fail(node, f"has unknown op '{node.op}'")
        arity = OPS[node.op].arity
        if arity is not None and len(node.inputs) != arity:
            fail(node, f"has {len(node.inputs)} inputs, op '{node.op}' takes {arity}")
        for source in node.inputs:
            if id(source) not in seen:
                fail(node, f"reads '{source.name}', which is not defined before it")
        if node.name in names:
            fail(node, "is defined twice")
        names.add(node.name)
        seen.add(id(node))
        if "shape" in node.meta:
            _verify_shape(node, fail)


def _verify_shape(node: Node, fail) -> None:
    try:
        expected = OPS[node.op].infer(node.attrs, [i.meta["shape"] for i in node.inputs], lambda _: None)
    except Exception as error:  # noqa: BLE001 - any failure here means a broken graph
        fail(node, f"no longer infers a shape: {error}")
    if tuple(expected) != tuple(node.meta["shape"]):
        fail(node, f"has shape {fmt_shape(node.meta['shape'])} but its op gives {fmt_shape(expected)}")


def format_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "x".join(format_value(v) for v in value)
    return str(value)


def print_graph(graph: Graph) -> str:
    """One node a line: ``name = op(inputs) attr=value ... : shape``."""
    lines = [f"network {graph.name}  # {graph.source}"]
    for node in graph.nodes:
        args = ", ".join(i.name for i in node.inputs)
        attrs = "".join(f" {k}={format_value(v)}" for k, v in node.attrs.items())
        shape = f" : {fmt_shape(node.meta['shape'])}" if "shape" in node.meta else ""
        lines.append(f"  {node.name} = {node.op}({args}){attrs}{shape}")
    return "\n".join(lines)

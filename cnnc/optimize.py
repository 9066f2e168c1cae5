"""`cnnc opt`: run the passes on a graph and say what they changed, before against after.

The table compares nodes, kernel launches (nodes that write memory: not the
zero-copy views and in-place concats), params, MACs and activation memory per
image in float32: the naive sum (every node's output in its own buffer) and
the planned peak (cnnc.passes.plan_memory's buffers, reused by liveness).
"""

from __future__ import annotations

from dataclasses import dataclass

from .analysis import totals
from .ir import Graph
from .passes import run_passes
from .passes.eliminate_concat import VIEWS
from .passes.plan_memory import memory_plan
from .text import human_bytes


@dataclass(frozen=True)
class Figures:
    nodes: int
    launches: int
    params: int
    macs: int
    naive_bytes: int
    planned_bytes: int


def figures(graph: Graph) -> Figures:
    t = totals(graph)
    plan = graph.meta.get("memory_plan") or memory_plan(graph)
    quiet = sum(n.op in VIEWS or bool(n.meta.get("in_place")) for n in graph.layers())
    return Figures(t.layers, t.layers - quiet, t.params, t.macs, plan["naive_bytes"], plan["peak_bytes"])


def optimize(graph: Graph, level: int = 2, only=None, disable=(), print_after=None) -> str:
    """Run the passes on ``graph`` (in place); the per-pass lines and the before/after table."""
    before = figures(graph)
    results = run_passes(graph, level, only, disable, print_after)
    after = figures(graph)
    chosen = f"passes {','.join(only)}" if only is not None else f"-O{level}"
    lines = [f"{graph.source}: {graph.name} at {chosen}"]
    lines += [f"  {name}: {note}" for name, _, note in results] or ["  (no passes)"]
    return "\n".join(lines + [""] + table(before, after)) + "\n"


def table(before: Figures, after: Figures) -> list[str]:
    rows = [
        ("", "before", "after"),
        ("nodes", f"{before.nodes:,}", f"{after.nodes:,}"),
        ("kernel launches", f"{before.launches:,}", f"{after.launches:,}"),
        ("params", f"{before.params:,}", f"{after.params:,}"),
        ("MACs", f"{before.macs:,}", f"{after.macs:,}"),
        ("activations, naive", human_bytes(before.naive_bytes), human_bytes(after.naive_bytes)),
        ("activations, planned peak", human_bytes(before.planned_bytes), human_bytes(after.planned_bytes)),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [f"  {a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}".rstrip() for a, b, c in rows]

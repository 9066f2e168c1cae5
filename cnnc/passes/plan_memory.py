"""Memory planning: liveness of every activation and greedy-by-size buffer reuse.

Each tensor that owns storage lives from the step that writes it to the last
step that reads it (the output to the end). Views share their source's
storage (slices, flatten, and identity/dropout when left in), and a branch
marked by eliminate_concat shares its concat's; a storage's interval covers
all of its tensors. Storages are then placed largest first, each into the
first buffer none of whose tensors is live at the same time, else a new
buffer (the greedy-by-size strategy of TVM's storage rewrite and TFLite's
arena planner). Sizes are per image, in float32. The plan, in
``graph.meta["memory_plan"]``, is what a backend allocates.
"""

from __future__ import annotations

from math import prod

from ..ir import Graph, Node
from .eliminate_concat import VIEWS
from .rewrite import note

BYTES = 4  # float32


def plan_memory(graph: Graph) -> bool:
    plan = memory_plan(graph)
    graph.meta["memory_plan"] = plan
    note(
        graph,
        "plan_memory",
        f"peak {mib(plan['peak_bytes'])} in {len(plan['buffers'])} buffers, naive {mib(plan['naive_bytes'])}",
    )
    return True


def memory_plan(graph: Graph) -> dict:
    names = {node.name: node for node in graph.nodes}
    owner = {node.name: storage_owner(node, names) for node in graph.nodes}
    intervals = live_intervals(graph, owner)
    sizes = {name: BYTES * prod(names[name].meta["shape"]) for name in intervals}
    buffers: list[dict] = []
    for name in sorted(intervals, key=lambda n: (-sizes[n], intervals[n])):
        buffer = next(
            (b for b in buffers if not any(overlap(intervals[name], intervals[t]) for t in b["tensors"])), None
        )
        if buffer is None:
            buffer = {"bytes": sizes[name], "tensors": []}
            buffers.append(buffer)
        buffer["tensors"].append(name)
    index = {tensor: i for i, buffer in enumerate(buffers) for tensor in buffer["tensors"]}
    return {
        "naive_bytes": BYTES * sum(prod(n.meta["shape"]) for n in graph.nodes if n.op != "slice"),
        "peak_bytes": sum(buffer["bytes"] for buffer in buffers),
        "live_peak_bytes": live_peak(intervals, sizes, len(graph.nodes)),
        "buffers": buffers,
        "assignment": {name: index[root] for name, root in owner.items()},
        "intervals": intervals,
    }


def storage_owner(node: Node, names: dict[str, Node]) -> str:
    """The node whose storage ``node``'s output lives in (itself, unless a view or a concat branch)."""
    while True:
        concat = names.get(node.meta.get("writes_into", (None,))[0])
        if concat is not None and node in concat.inputs:  # a mark a later rewrite made stale is ignored
            node = concat
        elif node.op in VIEWS:
            node = node.inputs[0]
        else:
            return node.name


def live_intervals(graph: Graph, owner: dict[str, str]) -> dict[str, tuple[int, int]]:
    """{storage owner: (first step written, last step read)}, steps being node positions."""
    last = len(graph.nodes)  # the output is read after the last step
    intervals: dict[str, tuple[int, int]] = {}
    for step, node in enumerate(graph.nodes):
        for name in [node.name, *(source.name for source in node.inputs)]:
            root = owner[name]
            first, end = intervals.get(root, (step, step))
            intervals[root] = (min(first, step), max(end, step))
    root = owner[graph.output.name]
    intervals[root] = (intervals[root][0], last)
    return intervals


def overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Live at a common step; a step's inputs and output overlap (no in-place updates)."""
    return a[0] <= b[1] and b[0] <= a[1]


def live_peak(intervals: dict, sizes: dict, steps: int) -> int:
    """The most bytes live at one step: a lower bound for any plan."""
    return max(sum(sizes[t] for t, (a, b) in intervals.items() if a <= step <= b) for step in range(steps + 1))


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"

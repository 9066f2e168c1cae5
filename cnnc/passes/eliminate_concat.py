"""Concat elimination: branches write straight into their channel range of the concat's output.

A branch output that only the concat reads needs no buffer of its own: its
producer writes at channel offset ``o`` of the concat's buffer, and the concat
copies nothing for it. Marks ``meta["writes_into"] = (concat name, offset)`` on
such branch outputs and ``meta["in_place"] = True`` on a concat all of whose
inputs do (it then launches no kernel). Views (slices, flatten, identity,
dropout) and the network input have storage elsewhere and are copied as before.
The memory planner (plan_memory) reads these marks, and so does the CPU
executor: a marked node writes into the concat's buffer (the direct convs
themselves; other kernels' outputs are copied there).
"""

from __future__ import annotations

from ..ir import Graph, Node
from .rewrite import note, readers

# Ops whose output is a view of their input's storage: they cannot be relocated.
VIEWS = ("slice", "flatten", "identity", "dropout")


def eliminate_concat(graph: Graph) -> bool:
    table = readers(graph)
    for node in graph.nodes:  # marks from an earlier run are decided afresh
        node.meta.pop("writes_into", None)
    in_place = written = 0
    for node in graph.nodes:
        if node.op != "concat":
            continue
        writers = place_branches(graph, node, table)
        written += writers
        node.meta["in_place"] = writers == len(node.inputs)
        in_place += node.meta["in_place"]
    concats = sum(node.op == "concat" for node in graph.nodes)
    note(graph, "eliminate_concat", f"{in_place} of {concats} concats in place, {written} branches write into them")
    return bool(written)


def place_branches(graph: Graph, concat: Node, table) -> int:
    offset = count = 0
    for branch in concat.inputs:
        if can_write_into(graph, branch, concat, table):
            branch.meta["writes_into"] = (concat.name, offset)
            count += 1
        offset += branch.meta["shape"][0]
    return count


def can_write_into(graph: Graph, branch: Node, concat: Node, table) -> bool:
    only_this = table[branch.name] == [concat] and branch is not graph.output
    owns_storage = branch.op not in (*VIEWS, "input", "concat")
    return only_this and owns_storage

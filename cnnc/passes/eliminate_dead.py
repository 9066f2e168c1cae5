"""Dead node elimination: a node whose output nobody reads (and is not the output) goes.

Walking backwards removes whole dead chains in one sweep: a node's readers
all come after it, so they are decided before it is.
"""

from __future__ import annotations

from ..ir import Graph
from .rewrite import note, readers, remove


def eliminate_dead(graph: Graph) -> bool:
    table = readers(graph)
    live_readers = {name: len(nodes) for name, nodes in table.items()}
    dead = []
    for node in reversed(graph.nodes[1:-1]):  # the input and the output always stay
        if live_readers[node.name] == 0:
            dead.append(node)
            for source in node.inputs:
                live_readers[source.name] -= 1
    remove(graph, dead)
    note(graph, "eliminate_dead", f"{len(dead)} dead node{'s' * (len(dead) != 1)} removed")
    return bool(dead)

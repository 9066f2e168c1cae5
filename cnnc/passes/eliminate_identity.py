"""Identity elimination: readers of an identity read its input instead."""

from __future__ import annotations

from ..ir import Graph
from .forward_through import forward_through


def eliminate_identity(graph: Graph) -> bool:
    return forward_through(graph, "identity", "eliminate_identity")

"""Dropout elimination: at inference dropout passes its input unchanged (inverted dropout
scales at training time), so its readers read its input instead. Inference only."""

from __future__ import annotations

from ..ir import Graph
from .forward_through import forward_through


def eliminate_dropout(graph: Graph) -> bool:
    return forward_through(graph, "dropout", "eliminate_dropout")

"""The numpy reference executor: the ground truth every pass and backend is checked against.

Clarity over speed. Arrays are NCHW (or NF for vectors), batch first, in the
dtype of the input (float64 for exact comparisons). ``training`` selects BN
batch statistics (and updates the running ones) and dropout's seeded mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CnncError
from ..ir import Graph, Node
from ..ops import fmt_shape
from . import reference_fused, reference_ops  # noqa: F401  (reference_fused registers)

FORWARD = reference_ops.FORWARD


@dataclass
class Context:
    training: bool
    rng: np.random.Generator


def run_reference(graph: Graph, x, weights=None, training: bool = False, seed: int = 0, keep: bool = False):
    """The network's output for the batch ``x`` (or every node's output when keep)."""
    weights = weights if weights is not None else graph.weights
    if weights is None:
        raise CnncError(f"network '{graph.name}' has no weights bound; pass weights= or load a weights file")
    x = np.asarray(x)
    expected = tuple(graph.input.meta["shape"])
    if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected:
        raise CnncError(f"input has shape {fmt_shape(x.shape)}, network '{graph.name}' takes Nx{fmt_shape(expected)}")
    ctx = Context(training, np.random.default_rng(seed))
    values: dict[str, np.ndarray] = {}
    for node in graph.nodes:
        if node.op == "input":
            values[node.name] = x
            continue
        inputs = [values[i.name] for i in node.inputs]
        values[node.name] = FORWARD[node.op](node, inputs, weights.get(node.name, {}), ctx)
        _check_shape(node, values[node.name], x.shape[0])
    return values if keep else values[graph.output.name]


def _check_shape(node: Node, value: np.ndarray, batch: int) -> None:
    expected = (batch, *node.meta["shape"])
    if value.shape != expected:
        raise CnncError(
            f"internal error: {node.name} ({node.op}) computed {fmt_shape(value.shape)}, "
            f"shape inference says {fmt_shape(expected)}",
            node.loc,
        )

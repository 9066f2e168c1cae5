"""Shared by the pass tests: random weights that make folding non-trivial, and a
before/after run of the numpy reference executor."""

from __future__ import annotations

import numpy as np

from cnnc.ir import print_graph
from cnnc.passes import run_passes
from cnnc.runtime.reference import run_reference
from cnnc.runtime.weights import init_weights


def random_weights(graph, seed: int = 0) -> dict:
    """init_weights, then BN statistics, scales, shifts and biases drawn at random
    (the defaults, mean 0 var 1 scale 1 shift 0, would make fold_bn a no-op)."""
    weights = init_weights(graph, seed, np.float64)
    rng = np.random.default_rng(seed + 1)
    draws = {
        "scale": lambda n: rng.uniform(0.5, 1.5, n),
        "running_var": lambda n: rng.uniform(0.5, 2.0, n),
        "running_mean": lambda n: rng.normal(0.0, 0.2, n),
        "shift": lambda n: rng.normal(0.0, 0.2, n),
        "bias": lambda n: rng.normal(0.0, 0.1, n),
    }
    for tensors in weights.values():
        for name, array in tensors.items():
            if name in draws:
                tensors[name] = draws[name](array.shape)
    return weights


def relative_error(after, before) -> float:
    """max |after - before| / max |before|: 1e-5 or less means the same outputs."""
    return float(np.abs(after - before).max() / np.abs(before).max())


def outputs_before_after(graph, batch: int = 2, seed: int = 0, **options) -> tuple[float, list]:
    """(relative error of the output, pass results) for random weights and inputs in float64."""
    graph.weights = random_weights(graph, seed)
    x = np.random.default_rng(seed + 2).normal(size=(batch, *graph.input.meta["shape"]))
    before = run_reference(graph, x)
    results = run_passes(graph, **options)
    after = run_reference(graph, x)
    assert after.shape == before.shape
    return relative_error(after, before), results


def ir_lines(graph) -> str:
    """print_graph without its header line (which names the file)."""
    return print_graph(graph).split("\n", 1)[1]

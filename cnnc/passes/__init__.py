"""The optimizing passes and their driver.

A pass is a plain function ``NAME(graph) -> bool`` (changed?) in its own file;
it records what it did in ``graph.meta["pass_notes"][NAME]``. ``PIPELINE``
lists them per optimization level: -O1 inference-safe simplifications, -O2
adds fusions and memory planning; a net to be trained runs its level's passes
but INFERENCE_ONLY. After each pass the driver verifies the
IR (an error names the pass), refreshes shapes and counts, and prints the IR
when asked (``print_after`` or ``CNNC_PRINT_AFTER=NAME|all``).
"""

from __future__ import annotations

import os
import sys

from ..analysis import annotate
from ..errors import CnncError, did_you_mean
from ..ir import Graph, print_graph, verify
from .eliminate_concat import eliminate_concat
from .eliminate_dead import eliminate_dead
from .eliminate_dropout import eliminate_dropout
from .eliminate_identity import eliminate_identity
from .fold_bn import fold_bn
from .fuse_horizontal import fuse_horizontal
from .fuse_vertical import fuse_vertical
from .plan_memory import plan_memory

SIMPLIFY = [eliminate_identity, eliminate_dropout, fold_bn, eliminate_dead]
# Vertical before horizontal: sibling 1x1 convs are stacked with their ReLU already fused.
PIPELINE = {0: [], 1: SIMPLIFY, 2: [*SIMPLIFY, fuse_vertical, fuse_horizontal, eliminate_concat, plan_memory]}
PASSES = {p.__name__: p for p in PIPELINE[2]}
# Passes a net that will be trained skips: dropout and BN folding change what
# training computes, and horizontal fusion stacks weights under new names
# (the trained weights would no longer load into the unoptimised net).
INFERENCE_ONLY = (eliminate_dropout, fold_bn, fuse_horizontal)


def run_passes(
    graph: Graph, level: int = 2, only=None, disable=(), print_after=None, training: bool = False
) -> list[tuple[str, bool, str]]:
    """Run the level's passes (or ``only``, in that order) but ``disable``, and with ``training``
    but INFERENCE_ONLY; [(name, changed, note)]."""
    chosen = [lookup(name) for name in only] if only is not None else list(PIPELINE[level])
    if training:
        chosen = [p for p in chosen if p not in INFERENCE_ONLY]
    skipped = {lookup(name).__name__ for name in disable}
    printed = wanted_prints(print_after)
    results = []
    for pass_fn in chosen:
        name = pass_fn.__name__
        if name in skipped:
            continue
        changed = pass_fn(graph)
        if changed and name != "plan_memory":
            graph.meta.pop("memory_plan", None)  # planned for a graph that is no more
        check(graph, name)
        results.append((name, changed, graph.meta.get("pass_notes", {}).get(name, "")))
        if printed == "all" or name in printed:
            print(f"# IR after {name}\n{print_graph(graph)}", file=sys.stdout)
    return results


def check(graph: Graph, name: str) -> None:
    """The verifier on the pass's own result, then fresh counts, then weights against them."""
    verify(graph, after=name)
    try:
        annotate(graph)
    except CnncError as error:
        raise CnncError(f"internal error: IR invalid after {name}: {error.message}", error.loc) from None
    verify(graph, after=name)
    if graph.weights is not None:
        verify_weights(graph, name)


def verify_weights(graph: Graph, name: str) -> None:
    """Bound weights must have the shapes the rewritten nodes need."""
    for node in graph.nodes:
        wanted = {**node.meta["params"], **node.meta["buffers"]}
        bound = {key: tuple(array.shape) for key, array in graph.weights.get(node.name, {}).items()}
        if bound != wanted:
            raise CnncError(
                f"internal error: weights invalid after {name}: node '{node.name}' needs {wanted}, has {bound}",
                node.loc,
            )


def lookup(name: str):
    if name not in PASSES:
        hint = did_you_mean(name, PASSES) or f"the passes are: {', '.join(PASSES)}"
        raise CnncError(f"unknown pass '{name}'", None, hint)
    return PASSES[name]


def wanted_prints(print_after) -> set | str:
    """Passes whose IR to print: the argument, else CNNC_PRINT_AFTER (comma-separated or 'all')."""
    if print_after is None:
        print_after = os.environ.get("CNNC_PRINT_AFTER") or set()
        if isinstance(print_after, str) and print_after != "all":
            print_after = set(print_after.split(","))
    elif isinstance(print_after, str) and print_after != "all":
        print_after = {print_after}
    if print_after != "all":
        for name in print_after:
            lookup(name)
    return print_after


__all__ = ["PASSES", "PIPELINE", "run_passes"]

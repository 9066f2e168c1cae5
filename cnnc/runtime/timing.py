"""`cnnc time`: per-layer and end-to-end timings of a compiled Net (as `caffe time`).

The end-to-end figure is measured on its own, without the per-layer clocks,
which add a Python call and a timer read per kernel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..backend import Kernel


@dataclass
class Timings:
    batch: int
    train: bool
    repeats: int
    forward: dict[str, float] = field(default_factory=dict)  # seconds per call, by layer
    backward: dict[str, float] = field(default_factory=dict)
    end_to_end: float = 0.0  # seconds per step (forward, plus backward when training)
    first_call: float = 0.0  # seconds of the very first step: includes JIT compilation


def time_net(net, batch: int = 1, train: bool = False, repeats: int = 5, seed: int = 0) -> Timings:
    x = np.random.default_rng(seed).normal(size=(batch, *net.graph.input.meta["shape"])).astype(net.dtype)
    result = Timings(batch, train, repeats)
    start = time.perf_counter()
    _step(net, x, train)  # compiles (or loads from cache) every kernel
    result.first_call = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeats):
        _step(net, x, train)
    result.end_to_end = (time.perf_counter() - start) / repeats
    original = net.kernels
    net.kernels = {op: _clocked(kernel, result) for op, kernel in original.items()}
    try:
        for _ in range(repeats):
            _step(net, x, train)
    finally:
        net.kernels = original
    for table in (result.forward, result.backward):
        for name in table:
            table[name] /= repeats
    return result


def _step(net, x, train: bool) -> None:
    y = net(x, training=train)
    if train:
        net.zero_grad()
        net.backward(np.ones_like(y), input_grad=False)  # a training step: no input gradient


def _clocked(kernel: Kernel, result: Timings) -> Kernel:
    def forward(node, *args):
        start = time.perf_counter()
        out = kernel.forward(node, *args)
        result.forward[node.name] = result.forward.get(node.name, 0.0) + time.perf_counter() - start
        return out

    def backward(node, *args):
        start = time.perf_counter()
        out = kernel.backward(node, *args)
        result.backward[node.name] = result.backward.get(node.name, 0.0) + time.perf_counter() - start
        return out

    return Kernel(forward, backward)


def format_timings(net, t: Timings) -> str:
    """A table: layer, op, forward and backward ms, GFLOP/s, share of the summed time."""
    from ..text import describe

    rows = []
    total = sum(t.forward.values()) + sum(t.backward.values())
    for node in net.graph.nodes[1:]:
        fwd, bwd = t.forward.get(node.name, 0.0), t.backward.get(node.name, 0.0)
        flops = node.meta["flops"] * t.batch
        rate = f"{flops / fwd / 1e9:.1f}" if fwd > 0 and flops else ""
        share = f"{100 * (fwd + bwd) / total:.1f}%" if total else ""
        rows.append([node.name, describe(node), f"{fwd * 1e3:.3f}", f"{bwd * 1e3:.3f}" if t.train else "", rate, share])
    header = ["layer", "op", "forward ms", "backward ms" if t.train else "", "fwd GFLOP/s", "share"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in [header, *rows]]  # fmt: skip
    step = "forward + backward" if t.train else "forward"
    lines += [
        "",
        f"per-layer sum: {total * 1e3:.2f} ms ({t.repeats} runs, batch {t.batch}, clocks on every kernel)",
        f"end to end:    {t.end_to_end * 1e3:.2f} ms per {step}, {t.batch / t.end_to_end:.1f} images/s "
        f"(measured apart, {t.repeats} runs)",
        f"first step:    {t.first_call * 1e3:.1f} ms (includes loading or compiling the kernels)",
    ]
    return "\n".join(lines)

"""Whole-network speed against PyTorch 2.13 CPU, same thread count, same run (by hand).

    .venv/bin/python benchmarks/bench_nets.py [--repeat N] [--only lenet5,resnet20,vgg16]

Prints per net the median time of cnnc and PyTorch over --rounds measurements
taken in turn, their ratio (cnnc / torch: below 1.0 cnnc is faster), and each
round's ratio. PyTorch runs the same graph op by op
(tests/torch_graph.py), eager, as an nn.Module would.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from cnnc.blas_env import configure_openblas

configure_openblas()  # before numpy loads OpenBLAS (cnnc/blas_env.py)

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnnc  # noqa: E402
from cnnc.runtime.weights import init_weights  # noqa: E402

# torch is imported in the parent only: its OpenMP runtime, loaded before cnnc's
# backend sets OMP_WAIT_POLICY, would leave the threads of cnnc's parallel
# kernels spinning in the child (ResNet-20: 255 against 158 ms).

CASES = {
    # name: (file, batch, training)
    "lenet5": ("examples/lenet5.cnn", 64, True),
    "resnet20": ("examples/resnet20_cifar.cnn", 64, True),
    "vgg16": ("examples/vgg16.cnn", 1, False),
}


def median_time(fn, repeat: int) -> float:
    fn()  # warm-up: JIT compilation, allocator, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def cnnc_step(path, batch, training, weights, x):
    net = cnnc.compile(ROOT / path, opt=2, weights=weights, training=training)  # as `cnnc train` compiles

    def step():
        y = net(x, training=training)
        if training:
            net.zero_grad()
            net.backward(np.ones_like(y), input_grad=False)  # as torch: x has no requires_grad

    return step


def cnnc_time(name: str, repeat: int) -> float:
    """cnnc's median step time, measured in a child process: the CPU backend tunes this
    process's malloc (cnnc/backend/cpu/memory.py), which would speed PyTorch up as well."""
    args = [sys.executable, __file__, "--child", name, "--repeat", str(repeat)]
    done = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT)
    return float(done.stdout.split()[-1])


def child(name: str, repeat: int) -> None:
    path, batch, training = CASES[name]
    graph = cnnc.load(ROOT / path)
    weights = init_weights(graph, seed=0)
    x = np.random.default_rng(0).normal(size=(batch, *graph.input.meta["shape"])).astype(np.float32)
    print(median_time(cnnc_step(path, batch, training, weights, x), repeat))


def torch_step(graph, batch, training, weights, x):
    import torch

    from tests.torch_graph import run_torch, torch_tensors

    tensors = torch_tensors(weights)
    tx = torch.from_numpy(x)

    def step():
        if training:
            for t in tensors.values():
                for v in t.values():
                    v.grad = None
            y = run_torch(graph, tx, tensors, training=True)
            y.backward(torch.ones_like(y))
        else:
            with torch.no_grad():
                run_torch(graph, tx, tensors, training=False)

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="timed steps a measurement (after one warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="cnnc and PyTorch measured in turn this many times")
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one net's cnnc timing, in a child process
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.repeat)
    import torch

    threads = int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    print(f"threads: {threads} (NUMBA_NUM_THREADS and torch.set_num_threads); {args.rounds} rounds, medians")
    print(f"{'net':10} {'step':22} {'cnnc ms':>10} {'torch ms':>10} {'ratio':>7} {'ratios by round':>24}")
    for name in args.only.split(","):
        path, batch, training = CASES[name]
        graph = cnnc.load(ROOT / path)
        weights = init_weights(graph, seed=0)
        x = np.random.default_rng(0).normal(size=(batch, *graph.input.meta["shape"])).astype(np.float32)
        torch_fn = torch_step(graph, batch, training, weights, x)
        # In turn, so that both see the same minutes: this machine's speed drifts by up to 40%.
        pairs = [(cnnc_time(name, args.repeat), median_time(torch_fn, args.repeat)) for _ in range(args.rounds)]
        ours, theirs = (float(np.median(times)) for times in zip(*pairs, strict=True))
        ratios = " ".join(f"{a / b:.2f}" for a, b in pairs)
        step = f"{'train' if training else 'infer'} step, batch {batch}"
        print(f"{name:10} {step:22} {ours * 1e3:10.1f} {theirs * 1e3:10.1f} {ours / theirs:7.2f} {ratios:>24}")


if __name__ == "__main__":
    main()

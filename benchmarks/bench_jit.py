"""Cold and warm JIT start of ResNet-18's kernels and of every conv/pool/fc path (run by hand).

Cold: a fresh, empty NUMBA_CACHE_DIR, so every kernel is compiled. Warm: the
same directory again, so every kernel is loaded from the cache. Each is a new
process that runs, for each net, one float32 inference (opt=2: fused kernels)
and one training step (opt=0: forward and backward), then the same again; the
JIT cost is the first pair's time less the second's (imports excluded, run
time excluded).

    .venv/bin/python benchmarks/bench_jit.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A small net touching every conv path (im2col, 1x1, depthwise), every pool mode and fc.
PATHS = """network jit {
  input 8x12x12
  conv 3x3/8 pad 1
  conv 3x3/8 groups 8 pad 1
  conv 1x1/8
  pool max 2x2
  pool avg 3x3 stride 1 pad 1
  pool l2 2x2
  pool avg global
  fc 10
}
"""

STEP = """
import sys, time
import cnnc  # before numpy: cnnc/blas_env.py
import numpy as np
from cnnc.api import load, loads
graph = lambda: load(sys.argv[1]) if sys.argv[1].endswith(".cnn") else loads(sys.argv[1], file="jit.cnn")
infer, train = cnnc.compile(graph(), opt=2), cnnc.compile(graph(), opt=0)
x = np.ones((1, *infer.graph.input.meta["shape"]), dtype=np.float32)
def both():
    start = time.perf_counter()
    infer(x)
    y = train(x, training=True)
    train.backward(np.ones_like(y), input_grad=False)
    return time.perf_counter() - start
print(both(), both())
"""


def first_and_second(source: str, cache: str) -> tuple[float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    args = [sys.executable, "-c", STEP, source]
    out = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    first, second = out.stdout.strip().splitlines()[-1].split()
    return float(first), float(second)


def main() -> None:
    print(f"{'net':28} {'cold JIT s':>10} {'warm start s':>12} {'step s':>8}")
    for name, source in [("resnet18 (224x224, batch 1)", "examples/resnet18.cnn"), ("every conv/pool/fc path", PATHS)]:
        with tempfile.TemporaryDirectory() as cache:
            cold = first_and_second(source, cache)
            warm = min((first_and_second(source, cache) for _ in range(3)), key=lambda t: t[0] - t[1])
        print(f"{name:28} {cold[0] - cold[1]:10.2f} {warm[0] - warm[1]:12.2f} {cold[1]:8.2f}")


if __name__ == "__main__":
    main()

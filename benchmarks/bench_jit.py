"""Cold and warm JIT start of the conv, pool and fc kernels (run by hand).

Cold: a fresh, empty NUMBA_CACHE_DIR, so every kernel is compiled. Warm: the
same directory again, so every kernel is loaded from the cache. Each is a new
process that runs one float32 training step (forward and backward) of a small
net touching every conv path (im2col, 1x1, depthwise), every pool mode and fc;
the time is from process start of the step to its end, imports excluded.

    .venv/bin/python benchmarks/bench_jit.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NET = """network jit {
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

STEP = f"""
import resource, time, numpy as np
import cnnc
from cnnc.api import loads
net = cnnc.compile(loads({NET!r}, file="jit.cnn"), opt=0)
x = np.ones((2, 8, 12, 12), dtype=np.float32)
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
start, start_cpu = time.perf_counter(), cpu()
y = net(x, training=True)
net.backward(np.ones_like(y))
print(time.perf_counter() - start, cpu() - start_cpu)
"""


def step_time(cache: str) -> tuple[float, float]:
    """(wall, CPU) seconds of the first step; CPU time is the steadier figure on a busy machine."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", STEP], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold = step_time(cache)
        warm = min(step_time(cache) for _ in range(3))
    print("first float32 training step of the conv/pool/fc kernels:")
    print(f"  cold JIT (empty cache) {cold[0]:6.2f} s wall {cold[1]:6.2f} s CPU")
    print(f"  warm (cached)          {warm[0]:6.2f} s wall {warm[1]:6.2f} s CPU")


if __name__ == "__main__":
    main()

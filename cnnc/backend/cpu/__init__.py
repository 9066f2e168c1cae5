"""The Numba CPU backend: KERNELS maps every op to its forward and backward.

Kernels are float32 (float64 for gradient checks), NCHW, contiguous. Heavy
loops are Numba loops with a parallel and a serial twin (``jit.parallel_loop``,
``cache=True``); matrix products go to numpy's BLAS outside ``prange``, on the
threads ``blas.matmul`` chooses.
"""

import os


def openmp_loaded() -> bool:
    """Whether a GNU OpenMP runtime is already in this process (PyTorch imported first, say)."""
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            return "libgomp" in maps.read()
    except OSError:  # not Linux
        return False


# Numba's default threading layer is OpenMP, whose idle threads spin. Between
# two parallel loops the BLAS threads run the GEMM, and spinning OpenMP
# threads then steal their cores: a ResNet-20 training step (batch 64, 2
# cores) took 4.7 s spinning and 0.30 s with passive waits. The runtime reads
# the policy when it loads, so where one is already loaded (PyTorch imported
# before cnnc) the setting cannot reach it, and Numba's own thread pool runs
# the parallel kernels instead: ResNet-20's step 139-182 ms, against 198-288
# with the spinning OpenMP threads (137 ms with cnnc imported first). A
# user's settings win.
if "OMP_WAIT_POLICY" not in os.environ and "NUMBA_THREADING_LAYER" not in os.environ and openmp_loaded():
    from numba import config

    config.THREADING_LAYER = "workqueue"
# Passive, but not at once: GNU OpenMP's workers spin GOMP_SPINCOUNT times (tens
# of microseconds here) before they sleep, which catches the next parallel loop
# of most back-to-back kernels. ResNet-20's training step (no BLAS left in it)
# ran 4-5% faster than fully passive, 7% at 10,000 spins; GoogLeNet's training
# step (its 1x1 convs are GEMMs on OpenBLAS's threads) the same at 3,000 spins,
# 3% slower at 10,000 and 8% at 30,000 (A/B, alternating processes).
# libgomp takes an explicit spin count over the policy's; other runtimes ignore it.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "3000"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .memory import keep_freed_memory  # noqa: E402
from .registry import KERNELS, register  # noqa: E402 - after the environment is set

keep_freed_memory()  # activations freed by one step are reused by the next (memory.py)

__all__ = ["KERNELS", "register"]

"""The Numba CPU backend: KERNELS maps every op to its forward and backward.

Kernels are float32 (float64 for gradient checks), NCHW, contiguous. Heavy
loops are Numba loops with a parallel and a serial twin (``jit.parallel_loop``,
``cache=True``); matrix products go to numpy's BLAS outside ``prange``, on the
threads ``blas.matmul`` chooses.
"""

import os

# Numba's default threading layer is OpenMP, whose idle threads spin. Between
# two parallel loops the BLAS threads run the GEMM, and spinning OpenMP
# threads then steal their cores: a ResNet-20 training step (batch 64, 2
# cores) took 4.7 s spinning and 0.30 s with passive waits. Set before the
# OpenMP runtime starts (the first parallel kernel); a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .memory import keep_freed_memory  # noqa: E402
from .registry import KERNELS, register  # noqa: E402 - after the environment is set

keep_freed_memory()  # activations freed by one step are reused by the next (memory.py)

__all__ = ["KERNELS", "register"]

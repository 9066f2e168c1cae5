"""The Numba CPU backend: KERNELS maps every op to its forward and backward.

Kernels are float32 (float64 for gradient checks), NCHW, contiguous. Heavy
loops are ``@njit(parallel=True, cache=True)``; matrix products go to numpy's
BLAS outside ``prange``.
"""

from .registry import KERNELS, register

__all__ = ["KERNELS", "register"]

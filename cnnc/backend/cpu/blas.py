"""Matrix products through numpy's BLAS, with the thread count chosen per product.

OpenBLAS runs every product above 2^18 multiply-adds on all its threads. On a
small product (a digits fc layer: 16x512 @ 512x64) the threads' hand-off costs
more than the work, and when another process holds a core it costs a whole
scheduler slice: the digits demo's fc layers took 7-9 ms a call instead of
15 us on a loaded 2-core machine. So products below SMALL_GEMM multiply-adds
run on one thread, larger ones on BLAS's own count, capped by
NUMBA_NUM_THREADS where the user set it (so that one variable bounds both
thread pools). The count is set around the call and put back, so a user's
own numpy products keep their setting.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from ... import blas_env

# Multiply-adds below which a product runs on one thread. On a quiet 2-core
# machine two threads win even at 2^19 (16x512 @ 512x64: 11.4 us on one,
# 7.7 us on two), by 4 us; under load the same product can wait a scheduler
# slice (ms) for its second thread. Below 2^20 one thread loses at most a few
# microseconds and never a slice.
SMALL_GEMM = 1 << 20


@lru_cache(maxsize=1)
def _blas():
    """(the BLAS libraries numpy loaded with their own thread counts, the count for large products)."""
    from threadpoolctl import ThreadpoolController  # scans the loaded libraries: once, lazily

    libraries = [(lib, lib.get_num_threads()) for lib in ThreadpoolController().select(user_api="blas").lib_controllers]
    threads = max((count for _, count in libraries), default=1)
    if "NUMBA_NUM_THREADS" in os.environ:
        from numba import config

        threads = min(threads, config.NUMBA_NUM_THREADS)
    return libraries, threads


def threads_for(macs: int) -> int:
    """BLAS threads for a product of this many multiply-adds: one for a small product, and for
    every product where OpenBLAS's idle workers spin 2^28 cycles (numpy imported before cnnc
    without OPENBLAS_THREAD_TIMEOUT, cnnc.blas_env): a spinning worker holds the core the next
    parallel kernel needs (ResNet-20's step 139.5 ms with threaded products, 103.6 on one
    thread; VGG-16 151 against 110, A/B in one process)."""
    return 1 if macs < SMALL_GEMM or not blas_env.SPIN_BOUNDED else _blas()[1]


def matmul(a, b, out=None):
    """np.matmul(a, b, out=out) on threads_for(its multiply-adds) BLAS threads."""
    rows, inner = a.shape[-2:]
    batch = max(a.size // (rows * inner or 1), b.size // (inner * b.shape[-1] or 1))
    wanted = threads_for(batch * rows * inner * b.shape[-1])
    libraries = _blas()[0]
    changed = [(lib, count) for lib, count in libraries if count != wanted]
    for lib, _ in changed:
        lib.set_num_threads(wanted)
    try:
        return np.matmul(a, b, out=out)
    finally:
        for lib, count in changed:
            lib.set_num_threads(count)

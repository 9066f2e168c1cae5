"""Parallel Numba loops with a serial twin for small work.

A ``parallel=True`` kernel pays twice on small tensors: its first compilation
costs about 1 s (the parfor passes) against 0.2-0.4 s for a plain ``njit``,
and every call wakes the worker threads (tens of microseconds with the
passive OpenMP waits cnnc sets), more than the whole loop costs on a batch of
16 digits. So every parallel loop is compiled twice from one function: the
``parallel`` dispatcher for large arrays and a ``serial`` one, where ``prange``
is a plain ``range``, for arrays below SERIAL_BELOW elements or when Numba has
one thread. Each twin compiles only when first called, and the parallel one
only for an array of COMPILE_FROM elements (afterwards it runs from
SERIAL_BELOW), so a net of small arrays never compiles a parallel one.

The serial twin is a copy of the function under another qualified name:
Numba names its on-disk cache after the qualified name, and two dispatchers of
one function would overwrite each other's cache entries.
"""

from __future__ import annotations

import os
import types

import numpy as np
from numba import get_num_threads, njit

from ...errors import CnncError

# Elements of the largest array argument from which a compiled parallel twin
# runs, and from which it is compiled (COMPILE_FROM: a parallel twin costs
# 0.5-1 s to compile, which small nets never repay); CNNC_SERIAL_BELOW sets
# both. Measured on this 2-core machine (2 threads, passive waits; A/B in one
# process): a ResNet-20 training step (batch 64) took 91.4 ms with every loop
# serial, 85.1 ms with parallel loops from 2^20 elements and 82.8 from 2^18;
# compiled from 2^18, the parallel twins would also be compiled for the
# digits demo's evaluation batches (cold run 10.8 s). While OpenBLAS's workers
# still spun 2^28 cycles after each product (before cnnc.blas_env bounded
# them), every parallel loop lost: 246 ms serial against 265 from 2^20, and a
# parallel im2col ran the large conv at 66% of sgemm.
DEFAULT_SERIAL_BELOW = 1 << 18
COMPILE_FROM = 1 << 20


def _serial_below(text: str | None) -> int:
    if text is None:
        return DEFAULT_SERIAL_BELOW
    if not text.strip().isdigit():
        raise CnncError(f"CNNC_SERIAL_BELOW must be a whole number of elements, not '{text}'")
    return int(text)


SERIAL_BELOW = _serial_below(os.environ.get("CNNC_SERIAL_BELOW"))
if "CNNC_SERIAL_BELOW" in os.environ:
    COMPILE_FROM = SERIAL_BELOW


def _renamed(fn, suffix: str):
    """A copy of fn (same code and globals) whose qualified name ends in suffix."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = fn.__qualname__ + suffix
    copy.__module__ = fn.__module__
    copy.__doc__ = fn.__doc__
    return copy


def _largest(args) -> int:
    return max((a.size for a in args if isinstance(a, np.ndarray)), default=0)


class Loop:
    """A kernel callable as fn(*args) that runs its parallel or its serial twin."""

    def __init__(self, fn, options: dict):
        self.parallel = njit(parallel=True, cache=True, **options)(fn)
        self.serial = njit(cache=True, **options)(_renamed(fn, "_serial"))
        self.__doc__, self.__name__ = fn.__doc__, fn.__name__

    def __call__(self, *args):
        return self.pick(args)(*args)

    def pick(self, args):
        """The twin that should run these arguments: the parallel one from COMPILE_FROM elements,
        and from SERIAL_BELOW once it is compiled."""
        size = _largest(args)
        if size < SERIAL_BELOW or get_num_threads() == 1:
            return self.serial
        if size >= max(SERIAL_BELOW, COMPILE_FROM) or self.parallel.signatures:
            return self.parallel
        return self.serial


# Blocks of channels a parallel twin shares out among its threads (its serial
# twin runs them in turn): loops over range(c0, c1) keep every index visibly
# non-negative, which a job index split by // and % does not (im2col.py).
BLOCKS = 16


@njit(cache=True)
def channel_blocks(channels):
    """How many channel blocks a loop over this many channels runs."""
    return min(channels, BLOCKS)


@njit(cache=True)
def channel_block(block, channels):
    """[c0, c1) of block number ``block`` of channel_blocks(channels) even blocks."""
    blocks = channel_blocks(channels)
    return block * channels // blocks, (block + 1) * channels // blocks


def parallel_loop(fn=None, **options):
    """Decorator: ``@parallel_loop`` or ``@parallel_loop(fastmath={...})``."""
    if fn is None:
        return lambda f: Loop(f, options)
    return Loop(fn, options)

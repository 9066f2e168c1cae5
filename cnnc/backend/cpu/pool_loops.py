"""The parallel loops of windowed pooling (formulas in cnnc.backend.cpu.pool).

Each job is one (image, channel) plane; windows are clipped to the input.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ..indexing import window_bounds
from .im2col import JIT
from .jit import parallel_loop


@parallel_loop(**JIT)
def max_pool_forward(x, out, argmax, kh, kw, sh, sw, ph, pw):
    """out = max over each clipped window; argmax = iy*W + ix of the winner (-1 for an empty window)."""
    batch, channels, out_h, out_w = out.shape
    height, width = x.shape[2], x.shape[3]
    for job in prange(batch * channels):
        n, c = job // channels, job % channels
        plane = x[n, c]
        for y in range(out_h):
            y0, y1 = window_bounds(y, kh, sh, ph, height)
            for xo in range(out_w):
                x0, x1 = window_bounds(xo, kw, sw, pw, width)
                best, where = -np.inf, -1
                for iy in range(y0, y1):
                    for ix in range(x0, x1):
                        v = plane[iy, ix]
                        # the first max wins; a NaN wins and stays (as numpy and PyTorch)
                        if not (v <= best) and best == best:
                            best, where = v, iy * width + ix
                out[n, c, y, xo] = best
                argmax[n, c, y, xo] = where


@parallel_loop(**JIT)
def max_pool_backward(dy, argmax, dx):
    """dx[n, c] = dy scattered onto each window's winner (windows may share one)."""
    batch, channels, out_h, out_w = dy.shape
    width = dx.shape[3]
    for job in prange(batch * channels):
        n, c = job // channels, job % channels
        grad = dx[n, c]
        grad[:] = 0
        for y in range(out_h):
            for xo in range(out_w):
                where = argmax[n, c, y, xo]
                if where >= 0:
                    grad[where // width, where % width] += dy[n, c, y, xo]


@parallel_loop(**JIT)
def sum_pool_forward(x, out, l2, kh, kw, sh, sw, ph, pw):
    """avg: the mean over each clipped window; l2 (flag): sqrt of the sum of squares."""
    batch, channels, out_h, out_w = out.shape
    height, width = x.shape[2], x.shape[3]
    for job in prange(batch * channels):
        n, c = job // channels, job % channels
        plane = x[n, c]
        for y in range(out_h):
            y0, y1 = window_bounds(y, kh, sh, ph, height)
            for xo in range(out_w):
                x0, x1 = window_bounds(xo, kw, sw, pw, width)
                total = 0.0  # float64: the sum of a float32 window is accumulated in double
                for iy in range(y0, y1):
                    for ix in range(x0, x1):
                        v = plane[iy, ix]
                        total += v * v if l2 else v
                # an empty window (P >= F) gives 0/0 = NaN, as the reference
                out[n, c, y, xo] = np.sqrt(total) if l2 else total / ((y1 - y0) * (x1 - x0))


@parallel_loop(**JIT)
def sum_pool_backward(dy, x, out, dx, l2, kh, kw, sh, sw, ph, pw):
    """dx[window] += dy / count (avg) or dy * x / y (l2, nothing where y == 0)."""
    batch, channels, out_h, out_w = dy.shape
    height, width = dx.shape[2], dx.shape[3]
    for job in prange(batch * channels):
        n, c = job // channels, job % channels
        grad = dx[n, c]
        grad[:] = 0
        for y in range(out_h):
            y0, y1 = window_bounds(y, kh, sh, ph, height)
            for xo in range(out_w):
                x0, x1 = window_bounds(xo, kw, sw, pw, width)
                if l2:
                    norm = out[n, c, y, xo]
                    share = dy[n, c, y, xo] / norm if norm > 0 else norm * 0
                    for iy in range(y0, y1):
                        for ix in range(x0, x1):
                            grad[iy, ix] += share * x[n, c, iy, ix]
                else:
                    share = dy[n, c, y, xo] / ((y1 - y0) * (x1 - x0))
                    for iy in range(y0, y1):
                        for ix in range(x0, x1):
                            grad[iy, ix] += share

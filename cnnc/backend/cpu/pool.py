"""pool max / avg / l2, windowed or global: forward and backward.

Windows are clipped to the input (cnnc.backend.indexing.window_bounds), which
is what the reference's padding means: padding never wins a max, never counts
in an average (count_include_pad=False), adds nothing to a sum of squares, and
the part of a ceil-mode window past the input is treated the same way.

    max: y = max over the window, argmax kept for backward (dx[argmax] += dy)
    avg: y = sum / count,           dx[window] += dy / count
    l2:  y = sqrt(sum of x^2),      dx[window] += dy * x / y   (0 where y == 0)

One kernel per direction takes the mode as a number, so each dtype compiles
two loops rather than six. Both run in parallel over (image, channel) planes:
a job writes only its own plane, so overlapping windows cannot race.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import Kernel
from ..indexing import window_bounds
from .im2col import JIT
from .registry import register

MODES = {"max": 0, "avg": 1, "l2": 2}


@njit(parallel=True, **JIT)
def pool_forward_loop(x, out, argmax, mode, kh, kw, sh, sw, ph, pw):
    """out[n, c, y, x] over the clipped window; argmax[n, c, y, x] = iy*W + ix of the max (mode 0)."""
    batch, channels, out_h, out_w = out.shape
    height, width = x.shape[2], x.shape[3]
    for job in prange(batch * channels):
        n, c = job // channels, job % channels
        plane = x[n, c]
        for y in range(out_h):
            y0, y1 = window_bounds(y, kh, sh, ph, height)
            for xo in range(out_w):
                x0, x1 = window_bounds(xo, kw, sw, pw, width)
                if mode == 0:
                    best, where = -np.inf, -1
                    for iy in range(y0, y1):
                        for ix in range(x0, x1):
                            v = plane[iy, ix]
                            # the first max wins; a NaN wins and stays (as numpy and PyTorch)
                            if not (v <= best) and best == best:
                                best, where = v, iy * width + ix
                    out[n, c, y, xo] = best
                    argmax[n, c, y, xo] = where
                else:
                    total = plane[0, 0] * 0
                    for iy in range(y0, y1):
                        for ix in range(x0, x1):
                            v = plane[iy, ix]
                            total += v if mode == 1 else v * v
                    count = (y1 - y0) * (x1 - x0)
                    out[n, c, y, xo] = total / count if mode == 1 else np.sqrt(total)


@njit(parallel=True, **JIT)
def pool_backward_loop(dy, x, out, argmax, dx, mode, kh, kw, sh, sw, ph, pw):
    """dx[n, c] = the sum of every window's share of dy (see the module's formulas)."""
    batch, channels, out_h, out_w = dy.shape
    height, width = dx.shape[2], dx.shape[3]
    for job in prange(batch * channels):
        n, c = job // channels, job % channels
        grad = dx[n, c]
        grad[:] = 0
        for y in range(out_h):
            y0, y1 = window_bounds(y, kh, sh, ph, height)
            for xo in range(out_w):
                g = dy[n, c, y, xo]
                if mode == 0:
                    where = argmax[n, c, y, xo]
                    if where >= 0:
                        grad[where // width, where % width] += g
                    continue
                x0, x1 = window_bounds(xo, kw, sw, pw, width)
                if mode == 1:
                    share = g / ((y1 - y0) * (x1 - x0))
                    for iy in range(y0, y1):
                        for ix in range(x0, x1):
                            grad[iy, ix] += share
                elif out[n, c, y, xo] > 0:
                    share = g / out[n, c, y, xo]
                    for iy in range(y0, y1):
                        for ix in range(x0, x1):
                            grad[iy, ix] += share * x[n, c, iy, ix]


def window(node, x):
    """(KH, KW, SH, SW, PH, PW): a global pool is one window over the whole plane."""
    a = node.attrs
    if a["global"]:
        return (x.shape[2], x.shape[3], 1, 1, 0, 0)
    return (*a["kernel"], *a["stride"], *a["pad"])


def pool_forward(node, inputs, tensors, ctx):
    x = np.ascontiguousarray(inputs[0])
    mode = MODES[node.attrs["mode"]]
    out = np.empty((x.shape[0], *node.meta["shape"]), dtype=x.dtype)
    argmax = np.empty(out.shape if mode == 0 else (1, 1, 1, 1), dtype=np.int64)
    pool_forward_loop(x, out, argmax, mode, *window(node, x))
    if not ctx.training:
        return out, None
    if mode == 0:
        return out, (x.shape, argmax)  # max: only the winners' positions are needed
    return out, (x, out)


def pool_backward(node, grad_output, saved, tensors, grads, ctx):
    mode = MODES[node.attrs["mode"]]
    dy = np.ascontiguousarray(grad_output)
    if mode == 0:
        (shape, argmax), x, out = saved, None, None
    else:
        (x, out), argmax = saved, np.empty((1, 1, 1, 1), dtype=np.int64)
        shape = x.shape
    dx = np.empty(shape, dtype=dy.dtype)
    placeholder = np.empty((1, 1, 1, 1), dtype=dy.dtype)  # an operand this mode does not read
    x = placeholder if x is None else x
    out = placeholder if out is None else out
    pool_backward_loop(dy, x, out, argmax, dx, mode, *window(node, dx))
    return [dx]


register("pool")(Kernel(pool_forward, pool_backward))

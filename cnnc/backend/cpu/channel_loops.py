"""Parallel loops over (N, C, S) planes: PReLU, maxout, softmax and dropout's masking.

Arrays are contiguous and viewed as (N, C, S) with S the spatial size (1 for
(N, F) vectors), so one loop serves feature maps and vectors alike.
"""

from __future__ import annotations

import math

from numba import njit, prange

loop = njit(parallel=True, cache=True)


@loop
def prelu_forward(x, slope, out):
    n, c, s = x.shape
    for t in prange(n * c):
        a = slope[t % c]
        for j in range(s):
            v = x[t // c, t % c, j]
            out[t // c, t % c, j] = v if v > 0 else a * v


@loop
def prelu_backward(x, slope, g, grad_x, grad_slope):
    """grad_x = g * (1 or slope); grad_slope[c] = sum of g*x where x <= 0 (one channel a thread)."""
    n, c, s = x.shape
    for k in prange(c):
        a, total = slope[k], 0.0
        for i in range(n):
            for j in range(s):
                v, d = x[i, k, j], g[i, k, j]
                if v > 0:
                    grad_x[i, k, j] = d
                else:
                    grad_x[i, k, j] = a * d
                    total += d * v
        grad_slope[k] = total


@njit(cache=True)
def group_argmax(x, i, group, k, j):
    """Index in 0..k-1 of the first maximum of channels group*k .. group*k+k-1 at (i, ., j);
    a NaN wins, as numpy's max propagates it."""
    best, at = x[i, group * k, j], 0
    for m in range(1, k):
        v = x[i, group * k + m, j]
        if (v > best or v != v) and best == best:
            best, at = v, m
    return at


@loop
def maxout_forward(x, k, out):
    n, groups, s = out.shape
    for t in prange(n * groups):
        i, group = t // groups, t % groups
        for j in range(s):
            out[i, group, j] = x[i, group * k + group_argmax(x, i, group, k, j), j]


@loop
def maxout_backward(x, k, g, grad_x):
    """The gradient goes to the first maximum of each group (torch's max(dim) does the same)."""
    n, groups, s = g.shape
    for t in prange(n * groups):
        i, group = t // groups, t % groups
        for m in range(k):
            for j in range(s):
                grad_x[i, group * k + m, j] = 0
        for j in range(s):
            grad_x[i, group * k + group_argmax(x, i, group, k, j), j] = g[i, group, j]


@loop
def softmax_forward(x, out, block):
    """Over axis 1, shifted by the max; a thread takes a block of positions of one image."""
    n, c, s = x.shape
    count = (s + block - 1) // block
    for t in prange(n * count):
        i, start = t // count, (t % count) * block
        for j in range(start, min(start + block, s)):
            top = x[i, 0, j]  # a NaN anywhere makes the total, and so every output, NaN
            for k in range(1, c):
                if x[i, k, j] > top:
                    top = x[i, k, j]
            total = 0.0
            for k in range(c):
                e = math.exp(x[i, k, j] - top)
                out[i, k, j] = e
                total += e
            for k in range(c):
                out[i, k, j] = out[i, k, j] / total


@loop
def softmax_backward(y, g, grad_x, block):
    """grad_x = y * (g - sum over channels of g*y)."""
    n, c, s = y.shape
    count = (s + block - 1) // block
    for t in prange(n * count):
        i, start = t // count, (t % count) * block
        for j in range(start, min(start + block, s)):
            dot = 0.0
            for k in range(c):
                dot += g[i, k, j] * y[i, k, j]
            for k in range(c):
                grad_x[i, k, j] = y[i, k, j] * (g[i, k, j] - dot)


@loop
def dropout_forward(x, u, p, scale, out, keep):
    """Inverted dropout: keep where u >= p (the reference's test), scaled; x * 0 keeps NaN as numpy."""
    for i in prange(out.size):
        keep[i] = u[i] >= p
        out[i] = x[i] * (scale if keep[i] else 0)


@loop
def dropout_backward(g, keep, scale, out):
    for i in prange(out.size):
        out[i] = g[i] * (scale if keep[i] else 0)

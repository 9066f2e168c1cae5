"""Parallel loops over (N, C, S) planes: PReLU, maxout and dropout's masking.

Arrays are contiguous and viewed as (N, C, S) with S the spatial size (1 for
(N, F) vectors), so one loop serves feature maps and vectors alike.
"""

from __future__ import annotations

from numba import njit, prange

from .jit import parallel_loop

loop = parallel_loop
# A reduction may be reassociated, so that LLVM vectorises it; NaN and infinity
# are still honoured (no nnan/ninf).
reduction = parallel_loop(fastmath={"reassoc", "contract", "nsz"})


@loop
def prelu_forward(x, slope, out):
    n, c, s = x.shape
    for t in prange(n * c):
        i, k = t // c, t % c
        a = slope[k]
        for j in range(s):
            v = x[i, k, j]
            out[i, k, j] = v if v > 0 else a * v


@reduction
def prelu_backward(x, slope, g, grad_x, grad_slope):
    """grad_x = g * (1 or slope); grad_slope[c] = sum of g*x where x <= 0 (one channel a thread).
    Branch-free selects, so that the loop vectorises."""
    n, c, s = x.shape
    for k in prange(c):
        a, total = slope[k], 0.0
        for i in range(n):
            for j in range(s):
                v, d = x[i, k, j], g[i, k, j]
                grad_x[i, k, j] = d if v > 0 else a * d
                total += 0 if v > 0 else d * v
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
def dropout_forward(x, u, p, scale, out, keep):
    """Inverted dropout: keep where u >= p (the reference's test), scaled; x * 0 keeps NaN as numpy."""
    for i in prange(out.size):
        keep[i] = u[i] >= p
        out[i] = x[i] * (scale if keep[i] else 0)


@loop
def dropout_backward(g, keep, scale, out):
    for i in prange(out.size):
        out[i] = g[i] * (scale if keep[i] else 0)

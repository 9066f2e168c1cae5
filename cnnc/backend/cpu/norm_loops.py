"""Parallel loops of batch norm and LRN over (N, C, S) planes.

BN runs one channel a thread (its statistics are a reduction over N and S);
sums accumulate in float64 whatever the dtype, so float32 statistics stay
as accurate as PyTorch's. LRN runs one (image, channel) plane a thread.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..indexing import channel_window
from .jit import parallel_loop

loop = parallel_loop
# Reductions may be reassociated (so LLVM vectorises them with several
# accumulators: 3-4x faster than one latency-bound float64 chain), never
# assume away NaN or infinity (the NaN checks of training rely on them).
reduction = parallel_loop(fastmath={"reassoc", "contract", "nsz"})
# A helper of the BN loops, inlined into them by LLVM (Numba caches no closures).
helper = njit(cache=True, no_cpython_wrapper=True)


@reduction
def bn_train_forward(x, gamma, beta, eps, residual, floor, out, mean, var, inv_std):
    """Per channel: mean and biased variance in two passes (no E[x^2]-E[x]^2
    cancellation), then out = (x - mean) * gamma / sqrt(var + eps) + beta, plus
    a fused residual and ReLU (normalize). One channel a thread, so the passes
    after the first read it from cache."""
    n, c, s = x.shape
    for k in prange(c):
        total = 0.0
        for i in range(n):
            for j in range(s):
                total += x[i, k, j]
        mu = total / (n * s)
        squares = 0.0
        for i in range(n):
            for j in range(s):
                d = x[i, k, j] - mu
                squares += d * d
        mean[k], var[k] = mu, squares / (n * s)
        inv_std[k] = 1 / math.sqrt(var[k] + eps)
        a, b = gamma[k] / math.sqrt(var[k] + eps), beta[k]
        for i in range(n):
            normalize(x, i, k, mu, a, b, residual, floor, out)


@loop
def bn_apply(x, mean, scale, shift, residual, floor, out):
    """out = (x - mean) * scale + shift (+ residual, ReLU: normalize), scale already divided by sqrt(var + eps)."""
    n, c, s = x.shape
    for t in prange(n * c):
        i, k = t // c, t % c
        normalize(x, i, k, mean[k], scale[k], shift[k], residual, floor, out)


@helper
def normalize(x, i, k, m, a, b, residual, floor, out):
    """out[i, k] = max((x[i, k] - m) * a + b (+ residual[i, k]), floor) over the plane: floor 0
    for a fused ReLU, -inf for none, an empty residual for none. The residual's test is
    outside the inner loop, which then vectorises; the max lets NaN through, as ReLU's does."""
    if residual.size:
        for j in range(x.shape[2]):
            v = (x[i, k, j] - m) * a + b + residual[i, k, j]
            out[i, k, j] = floor if v < floor else v
    else:
        for j in range(x.shape[2]):
            v = (x[i, k, j] - m) * a + b
            out[i, k, j] = floor if v < floor else v


@reduction
def bn_backward(x, g, y, mean, inv_std, gamma, grad_x, grad_z, grad_scale, grad_shift):
    """Through the batch statistics (Ioffe & Szegedy 2015, section 3), from gz, the gradient of
    z = x^ * gamma + beta: x^ = (x - mean) * inv_std, dscale = sum gz x^, dshift = sum gz,
    dx = gamma * inv_std / M * (M gz - dshift - x^ dscale), M = N*S. gz is g, or with a fused
    ReLU (y its output; else y is empty) g where y > 0 and 0 elsewhere, kept in grad_z unless
    that is empty (a fused residual's input gets it)."""
    n, c, s = x.shape
    count = n * s
    for k in prange(c):
        m, r = mean[k], inv_std[k]
        sum_g, sum_gx = 0.0, 0.0
        for i in range(n):
            for j in range(s):
                gz = g[i, k, j] if y.size == 0 or y[i, k, j] > 0 else 0.0
                sum_g += gz
                sum_gx += gz * (x[i, k, j] - m) * r
                if grad_z.size:
                    grad_z[i, k, j] = gz
        factor = gamma[k] * r / count
        for i in range(n):
            for j in range(s):
                gz = g[i, k, j] if y.size == 0 or y[i, k, j] > 0 else 0.0
                xhat = (x[i, k, j] - m) * r
                grad_x[i, k, j] = factor * (count * gz - sum_g - xhat * sum_gx)
        grad_scale[k], grad_shift[k] = sum_gx, sum_g


@loop
def lrn_forward(x, size, alpha, beta, k, out, denominator):
    """PyTorch's LocalResponseNorm: d = k + alpha/size * sum of x^2 over the channel
    window, out = x / d^beta; d is kept for backward."""
    n, c, s = x.shape
    for t in prange(n * c):
        i, ch = t // c, t % c
        lo, hi = channel_window(ch, size // 2, (size - 1) // 2, c)
        total = np.zeros(s)  # window sums, a plane at a time: contiguous inner loops
        for m in range(lo, hi):
            for j in range(s):
                total[j] += x[i, m, j] * x[i, m, j]
        for j in range(s):
            d = k + alpha / size * total[j]
            denominator[i, ch, j] = d
            out[i, ch, j] = x[i, ch, j] / d**beta


@loop
def lrn_backward(x, out, denominator, g, size, alpha, beta, grad_x):
    """dx_j = g_j d_j^-beta - 2 beta alpha/size x_j sum over windows c that hold j of g_c y_c / d_c.

    Window c spans channels [c - size//2, c + (size-1)//2], so j lies in the
    windows of c in [j - (size-1)//2, j + size//2]: the window with the halves swapped.
    """
    n, c, s = x.shape
    for t in prange(n * c):
        i, ch = t // c, t % c
        lo, hi = channel_window(ch, (size - 1) // 2, size // 2, c)
        total = np.zeros(s)
        for m in range(lo, hi):
            for j in range(s):
                total[j] += g[i, m, j] * out[i, m, j] / denominator[i, m, j]
        for j in range(s):
            scaled = g[i, ch, j] / denominator[i, ch, j] ** beta
            grad_x[i, ch, j] = scaled - 2 * beta * alpha / size * x[i, ch, j] * total[j]

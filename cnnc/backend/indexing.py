"""Index arithmetic of sliding-window ops, shared by the CPU kernels (and the CUDA ones to come).

Small ``@njit`` functions (callable from plain Python too) about one spatial
axis. Output position ``o`` of a window op reads input positions

    i = o*S - P + k*D,   k = 0 .. F-1                 (the im2col offset)

and the output length is cnnc.ops.size's rule, mirrored here so that kernels
can compute it inside compiled code:

    out = floor((N + 2P - D*(F-1) - 1) / S) + 1        (or ceil, see out_size)
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def out_size(n, kernel, stride, pad, dilation, ceil):
    """cnnc.ops.size.window_out(...).out: the size rule, with its ceil form.

    In ceil mode a last window that would start past the input and its left
    padding is dropped, as PyTorch's ceil_mode does.
    """
    numerator = n + 2 * pad - dilation * (kernel - 1) - 1
    if not ceil:
        return numerator // stride + 1
    out = -(-numerator // stride) + 1
    if out > 1 and (out - 1) * stride >= n + pad:
        out -= 1
    return out


@njit(cache=True)
def input_index(o, k, stride, pad, dilation):
    """Input position read by output ``o`` at tap ``k``: o*S - P + k*D (may fall in the padding)."""
    return o * stride - pad + k * dilation


@njit(cache=True)
def tap_range(k, n_in, n_out, stride, pad, dilation):
    """[lo, hi): the outputs whose tap ``k`` lands inside the input, 0 <= o*S - P + k*D < n_in.

    Solving for o: o >= (P - k*D)/S and o <= (n_in - 1 + P - k*D)/S. Kernels
    loop over this range without a bounds test and zero (or skip) the rest.
    """
    offset = pad - k * dilation
    lo = -(-offset // stride) if offset > 0 else 0
    hi = (n_in - 1 + offset) // stride + 1 if n_in - 1 + offset >= 0 else 0
    return min(lo, n_out), max(min(hi, n_out), min(lo, n_out))


@njit(cache=True)
def window_bounds(o, kernel, stride, pad, n_in):
    """[start, stop) of pooling window ``o`` clipped to the input: padding is never read.

    Empty (start == stop) for a window wholly in the padding, possible when P >= F.
    """
    start = max(o * stride - pad, 0)
    stop = min(o * stride - pad + kernel, n_in)
    return start, max(stop, start)


@njit(cache=True)
def channel_window(c, before, after, channels):
    """[lo, hi) of channels c-before .. c+after clipped to 0 .. channels-1 (LRN's window:
    before = size//2, after = (size-1)//2 as PyTorch pads; swapped for its backward)."""
    return max(c - before, 0), min(c + after + 1, channels)

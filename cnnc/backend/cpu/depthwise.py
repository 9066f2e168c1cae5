"""Depthwise convolution (groups == input channels): a direct kernel, no GEMM.

Each output channel o reads the single input channel c = o // M (M = O/C, the
channel multiplier), so the per-group GEMM would be (M x KH*KW) @ (KH*KW x P):
too thin for BLAS. The direct loop walks one tap over a whole output plane at
a time, the innermost loop running along a row through flat offsets in
unsigned integers: Numba adds no negative-index wraparound to those, so LLVM
vectorises the loop without two array views a row (as col2im does).
Parallel jobs own disjoint outputs: forward an (image, out channel) plane,
input gradient an (image, in channel) plane, weight gradient one filter.
"""

from __future__ import annotations

from numba import prange, uint64

from ..indexing import input_index, tap_range
from .im2col import JIT
from .jit import parallel_loop


@parallel_loop(**JIT)
def depthwise_forward(x, w, out, sh, sw, ph, pw, dh, dw):
    """out[n, o] = sum over taps (a, b) of w[o, 0, a, b] * x[n, o // M] shifted by the tap."""
    batch, out_channels, out_h, out_w = out.shape
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    multiplier, kh, kw = out_channels // channels, w.shape[2], w.shape[3]
    source, target = x.reshape(-1), out.reshape(-1)
    for job in prange(batch * out_channels):
        n, o = job // out_channels, job % out_channels
        into, start = job * out_h * out_w, (n * channels + o // multiplier) * height * width
        out[n, o] = 0
        for a in range(kh):
            lo_h, hi_h = tap_range(a, height, out_h, sh, ph, dh)
            for b in range(kw):
                lo_w, hi_w = tap_range(b, width, out_w, sw, pw, dw)
                tap, ix0 = w[o, 0, a, b], input_index(lo_w, b, sw, pw, dw)
                for y in range(lo_h, hi_h):
                    to = uint64(into + y * out_w + lo_w)
                    at = uint64(start + input_index(y, a, sh, ph, dh) * width + ix0)
                    for k in range(hi_w - lo_w):
                        target[to + uint64(k)] += tap * source[at + uint64(k * sw)]


@parallel_loop(**JIT)
def depthwise_input_grad(dy, w, dx, sh, sw, ph, pw, dh, dw):
    """dx[n, c] = sum over c's M output channels o and taps of w[o, 0, a, b] * dy[n, o] (scattered)."""
    batch, channels, height, width = dx.shape
    out_channels, out_h, out_w = dy.shape[1], dy.shape[2], dy.shape[3]
    multiplier, kh, kw = out_channels // channels, w.shape[2], w.shape[3]
    source, target = dy.reshape(-1), dx.reshape(-1)
    for job in prange(batch * channels):
        n, c = job // channels, job % channels
        into = job * height * width
        dx[n, c] = 0
        for o in range(c * multiplier, (c + 1) * multiplier):
            start = (n * out_channels + o) * out_h * out_w
            for a in range(kh):
                lo_h, hi_h = tap_range(a, height, out_h, sh, ph, dh)
                for b in range(kw):
                    lo_w, hi_w = tap_range(b, width, out_w, sw, pw, dw)
                    tap, ix0 = w[o, 0, a, b], input_index(lo_w, b, sw, pw, dw)
                    for y in range(lo_h, hi_h):
                        to = uint64(into + input_index(y, a, sh, ph, dh) * width + ix0)
                        at = uint64(start + y * out_w + lo_w)
                        for k in range(hi_w - lo_w):
                            target[to + uint64(k * sw)] += tap * source[at + uint64(k)]


# The weight gradient is a long dot product: reassociation lets LLVM vectorise
# the sum (set form, without nnan/ninf, so NaN and inf still propagate).
@parallel_loop(fastmath={"reassoc", "contract", "arcp", "nsz"}, **JIT)
def depthwise_weight_grad(dy, x, dw_out, sh, sw, ph, pw, dh, dw):
    """dw_out[o, 0, a, b] += sum over images and output pixels of dy[n, o] * x[n, o // M] at the tap."""
    batch, out_channels, out_h, out_w = dy.shape
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    multiplier, kh, kw = out_channels // channels, dw_out.shape[2], dw_out.shape[3]
    grads, inputs = dy.reshape(-1), x.reshape(-1)
    for o in prange(out_channels):
        c = o // multiplier
        for a in range(kh):
            lo_h, hi_h = tap_range(a, height, out_h, sh, ph, dh)
            for b in range(kw):
                lo_w, hi_w = tap_range(b, width, out_w, sw, pw, dw)
                ix0 = input_index(lo_w, b, sw, pw, dw)
                total = 0.0  # float64, as the kernel always summed
                for n in range(batch):
                    start_g = (n * out_channels + o) * out_h * out_w
                    start_x = (n * channels + c) * height * width
                    for y in range(lo_h, hi_h):
                        at_g = uint64(start_g + y * out_w + lo_w)
                        at_x = uint64(start_x + input_index(y, a, sh, ph, dh) * width + ix0)
                        for k in range(hi_w - lo_w):
                            total += grads[at_g + uint64(k)] * inputs[at_x + uint64(k * sw)]
                dw_out[o, 0, a, b] += total

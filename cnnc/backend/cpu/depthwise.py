"""Depthwise convolution (groups == input channels): a direct kernel, no GEMM.

Each output channel o reads the single input channel c = o // M (M = O/C, the
channel multiplier), so the per-group GEMM would be (M x KH*KW) @ (KH*KW x P):
too thin for BLAS. The direct loop walks one tap over a whole output plane at
a time, the innermost loop running along a row over 1-D views that start
where the loop starts (so that LLVM vectorises it; contiguous for stride 1).
Parallel jobs own disjoint outputs: forward an (image, out channel) plane,
input gradient an (image, in channel) plane, weight gradient one filter.
"""

from __future__ import annotations

from numba import prange

from ..indexing import input_index, tap_range
from .im2col import JIT
from .jit import parallel_loop


@parallel_loop(**JIT)
def depthwise_forward(x, w, out, sh, sw, ph, pw, dh, dw):
    """out[n, o] = sum over taps (a, b) of w[o, 0, a, b] * x[n, o // M] shifted by the tap."""
    batch, out_channels, out_h, out_w = out.shape
    multiplier = out_channels // x.shape[1]
    height, width, kh, kw = x.shape[2], x.shape[3], w.shape[2], w.shape[3]
    for job in prange(batch * out_channels):
        n, o = job // out_channels, job % out_channels
        c = o // multiplier
        plane = out[n, o]
        plane[:] = 0
        for a in range(kh):
            lo_h, hi_h = tap_range(a, height, out_h, sh, ph, dh)
            for b in range(kw):
                lo_w, hi_w = tap_range(b, width, out_w, sw, pw, dw)
                tap = w[o, 0, a, b]
                ix0, count = input_index(lo_w, b, sw, pw, dw), hi_w - lo_w
                for y in range(lo_h, hi_h):
                    dst, line = plane[y][lo_w:], x[n, c, input_index(y, a, sh, ph, dh)][ix0:]
                    if sw == 1:
                        for k in range(count):
                            dst[k] += tap * line[k]
                    else:
                        for k in range(count):
                            dst[k] += tap * line[k * sw]


@parallel_loop(**JIT)
def depthwise_input_grad(dy, w, dx, sh, sw, ph, pw, dh, dw):
    """dx[n, c] = sum over c's M output channels o and taps of w[o, 0, a, b] * dy[n, o] (scattered)."""
    batch, channels, height, width = dx.shape
    multiplier, out_h, out_w = dy.shape[1] // channels, dy.shape[2], dy.shape[3]
    kh, kw = w.shape[2], w.shape[3]
    for job in prange(batch * channels):
        n, c = job // channels, job % channels
        plane = dx[n, c]
        plane[:] = 0
        for o in range(c * multiplier, (c + 1) * multiplier):
            for a in range(kh):
                lo_h, hi_h = tap_range(a, height, out_h, sh, ph, dh)
                for b in range(kw):
                    lo_w, hi_w = tap_range(b, width, out_w, sw, pw, dw)
                    tap = w[o, 0, a, b]
                    ix0, count = input_index(lo_w, b, sw, pw, dw), hi_w - lo_w
                    for y in range(lo_h, hi_h):
                        line, src = plane[input_index(y, a, sh, ph, dh)][ix0:], dy[n, o, y][lo_w:]
                        if sw == 1:
                            for k in range(count):
                                line[k] += tap * src[k]
                        else:
                            for k in range(count):
                                line[k * sw] += tap * src[k]


# The weight gradient is a long dot product: reassociation lets LLVM vectorise
# the sum (set form, without nnan/ninf, so NaN and inf still propagate).
@parallel_loop(fastmath={"reassoc", "contract", "arcp", "nsz"}, **JIT)
def depthwise_weight_grad(dy, x, dw_out, sh, sw, ph, pw, dh, dw):
    """dw_out[o, 0, a, b] += sum over images and output pixels of dy[n, o] * x[n, o // M] at the tap."""
    batch, out_channels, out_h, out_w = dy.shape
    multiplier, height, width = out_channels // x.shape[1], x.shape[2], x.shape[3]
    kh, kw = dw_out.shape[2], dw_out.shape[3]
    for o in prange(out_channels):
        c = o // multiplier
        for a in range(kh):
            lo_h, hi_h = tap_range(a, height, out_h, sh, ph, dh)
            for b in range(kw):
                lo_w, hi_w = tap_range(b, width, out_w, sw, pw, dw)
                ix0, count = input_index(lo_w, b, sw, pw, dw), hi_w - lo_w
                total = dw_out[o, 0, a, b] * 0
                for n in range(batch):
                    for y in range(lo_h, hi_h):
                        src, line = dy[n, o, y][lo_w:], x[n, c, input_index(y, a, sh, ph, dh)][ix0:]
                        if sw == 1:
                            for k in range(count):
                                total += src[k] * line[k]
                        else:
                            for k in range(count):
                                total += src[k] * line[k * sw]
                dw_out[o, 0, a, b] += total

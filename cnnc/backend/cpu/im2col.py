"""im2col and col2im: the column matrix that turns a convolution into a GEMM.

For a chunk of images n0 + i, the column matrix has one row per (input channel
c, tap a, b) and one column per (image, output pixel y, x), images side by side:

    cols[(c*KH + a)*KW + b, (i*OH + y)*OW + x] = x[n0 + i, c, y*SH - PH + a*DH, x*SW - PW + b*DW]

(0 where that falls in the padding), so that one GEMM W.reshape(O, C*KH*KW) @ cols
convolves the whole chunk (per group: the rows of group g are the channels of
group g). col2im is its
adjoint, dx += scatter(dcols). Both run in parallel over (image, channel):
every job writes only its own rows of cols, or its own plane of dx, so the
scatter of col2im has no race even where windows overlap.
"""

from __future__ import annotations

from numba import prange

from ..indexing import input_index, tap_range
from .jit import parallel_loop

JIT = {"error_model": "numpy"}


@parallel_loop(**JIT)
def im2col(x, n0, cols, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw):
    """Fills cols (C*KH*KW, chunk*OH*OW) with the column matrix of images n0 .. n0 + chunk."""
    pixels = out_h * out_w
    chunk = cols.shape[1] // pixels
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    for job in prange(chunk * channels):
        i, c = job // channels, job % channels
        src = x[n0 + i, c]
        for a in range(kh):
            lo_h, hi_h = tap_range(a, height, out_h, sh, ph, dh)
            for b in range(kw):
                lo_w, hi_w = tap_range(b, width, out_w, sw, pw, dw)
                row = cols[(c * kh + a) * kw + b, i * pixels : (i + 1) * pixels]
                row[: lo_h * out_w] = 0
                row[hi_h * out_w :] = 0
                ix0, count = input_index(lo_w, b, sw, pw, dw), hi_w - lo_w
                for y in range(lo_h, hi_h):
                    dst = row[y * out_w : (y + 1) * out_w]
                    dst[:lo_w] = 0
                    dst[hi_w:] = 0
                    # 1-D views from the loop's start: a unit-stride loop LLVM vectorises
                    line, dst = src[input_index(y, a, sh, ph, dh)][ix0:], dst[lo_w:]
                    if sw == 1:
                        for k in range(count):
                            dst[k] = line[k]
                    else:
                        for k in range(count):
                            dst[k] = line[k * sw]


@parallel_loop(**JIT)
def col2im(dcols, dx, n0, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw):
    """dx[n0 .. n0 + chunk] += the adjoint of im2col applied to dcols; taps in the padding are dropped."""
    pixels = out_h * out_w
    chunk = dcols.shape[1] // pixels
    channels, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    for job in prange(chunk * channels):
        i, c = job // channels, job % channels
        plane = dx[n0 + i, c]
        for a in range(kh):
            lo_h, hi_h = tap_range(a, height, out_h, sh, ph, dh)
            for b in range(kw):
                lo_w, hi_w = tap_range(b, width, out_w, sw, pw, dw)
                row = dcols[(c * kh + a) * kw + b, i * pixels : (i + 1) * pixels]
                ix0, count = input_index(lo_w, b, sw, pw, dw), hi_w - lo_w
                for y in range(lo_h, hi_h):
                    # 1-D views that start where the loop starts: LLVM then sees a
                    # unit-stride loop and vectorises it (4x faster than indexing x[n, c, iy, ix])
                    line = plane[input_index(y, a, sh, ph, dh)][ix0:]
                    src = row[y * out_w + lo_w :]
                    if sw == 1:
                        for k in range(count):
                            line[k] += src[k]
                    else:
                        for k in range(count):
                            line[k * sw] += src[k]

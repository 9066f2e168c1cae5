"""im2col and col2im: the column matrix that turns a convolution into a GEMM.

For image n, the column matrix has one row per (input channel c, tap a, b) and
one column per output pixel (y, x):

    cols[(c*KH + a)*KW + b, y*OW + x] = x[n, c, y*SH - PH + a*DH, x*SW - PW + b*DW]

(0 where that falls in the padding), so that out[n] = W.reshape(O, C*KH*KW) @ cols
(per group: the rows of group g are the channels of group g). col2im is its
adjoint, dx += scatter(dcols). Both run in parallel over (image, channel):
every job writes only its own rows of cols, or its own plane of dx, so the
scatter of col2im has no race even where windows overlap.
"""

from __future__ import annotations

from numba import njit, prange

from ..indexing import input_index, tap_range

JIT = {"cache": True, "error_model": "numpy"}


@njit(parallel=True, **JIT)
def im2col(x, n0, cols, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw):
    """Fills cols[i] (C*KH*KW, OH*OW) with the column matrix of image n0 + i."""
    chunk = cols.shape[0]
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    for job in prange(chunk * channels):
        i, c = job // channels, job % channels
        src = x[n0 + i, c]
        for a in range(kh):
            lo_h, hi_h = tap_range(a, height, out_h, sh, ph, dh)
            for b in range(kw):
                lo_w, hi_w = tap_range(b, width, out_w, sw, pw, dw)
                row = cols[i, (c * kh + a) * kw + b]
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


@njit(parallel=True, **JIT)
def col2im(dcols, dx, n0, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw):
    """dx[n0 + i] += the adjoint of im2col applied to dcols[i]; taps in the padding are dropped."""
    chunk = dcols.shape[0]
    channels, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    for job in prange(chunk * channels):
        i, c = job // channels, job % channels
        plane = dx[n0 + i, c]
        for a in range(kh):
            lo_h, hi_h = tap_range(a, height, out_h, sh, ph, dh)
            for b in range(kw):
                lo_w, hi_w = tap_range(b, width, out_w, sw, pw, dw)
                row = dcols[i, (c * kh + a) * kw + b]
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

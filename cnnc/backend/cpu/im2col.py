"""im2col and col2im: the column matrix that turns a convolution into a GEMM.

For a chunk of images n0 + i, the column matrix has one row per (input channel
c, tap a, b) and one column per (image, output pixel y, x), images side by side:

    cols[(c*KH + a)*KW + b, (i*OH + y)*OW + x] = x[n0 + i, c, y*SH - PH + a*DH, x*SW - PW + b*DW]

(0 where that falls in the padding), so that one GEMM W.reshape(O, C*KH*KW) @ cols
convolves the whole chunk (per group: the rows of group g are the channels of
group g). col2im is its adjoint, dx += scatter(dcols). im2col runs in
parallel over blocks of channels, col2im over (image, channel): every job
writes only its own rows of cols, or its own plane of dx, so the scatter of
col2im has no race even where windows overlap.
"""

from __future__ import annotations

from numba import njit, prange, uint64

from ..indexing import input_index, tap_range
from .jit import channel_block, channel_blocks, parallel_loop

JIT = {"error_model": "numpy"}


@parallel_loop(**JIT)
def im2col(x, n0, cols, y0, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw):
    """Fills cols (C*KH*KW, chunk*out_h*OW) with the column matrix of output rows y0 .. y0 + out_h
    of images n0 .. n0 + chunk (y0 = 0 and out_h = OH: whole images)."""
    for block in prange(channel_blocks(x.shape[1])):
        c0, c1 = channel_block(block, x.shape[1])
        if sw == 1:
            im2col_channels(x, n0, cols, c0, c1, y0, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw)
        else:
            im2col_strided_channels(x, n0, cols, c0, c1, y0, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw)


# im2col's loop proper, over channels [c0, c1). Plain loops over range() and a
# bounds test per element: every index is then visibly non-negative, LLVM
# drops Numba's negative-index wraparound and vectorises. 1.6-3x faster than
# clipping each row to its valid range and copying 1-D views (16 digits'
# 16x8x8 maps: 37 against 106 us; 64 CIFAR-sized 16x32x32 maps: 1.6 against
# 4.2 ms), and 2-3x faster than the same loops taking the image and channel
# from one job index (job // C, job % C), where the wraparound tests stay.
# col2im's scatter did not gain from the same form (nor from gathering per
# input pixel at stride 1): it drops the wraparound with unsigned offsets.


@njit(**JIT, cache=True)
def im2col_channels(x, n0, cols, c0, c1, y0, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw):
    pixels = out_h * out_w
    chunk = cols.shape[1] // pixels
    height, width = x.shape[2], x.shape[3]
    for c in range(c0, c1):
        for i in range(chunk):
            plane = x[n0 + i, c]
            for a in range(kh):
                for b in range(kw):
                    row = cols[(c * kh + a) * kw + b, i * pixels : (i + 1) * pixels]
                    for y in range(out_h):
                        iy = input_index(y0 + y, a, sh, ph, dh)
                        if iy < 0 or iy >= height:
                            for xo in range(out_w):
                                row[y * out_w + xo] = 0
                        else:
                            for xo in range(out_w):
                                ix = input_index(xo, b, sw, pw, dw)
                                row[y * out_w + xo] = plane[iy, ix] if 0 <= ix < width else 0


@njit(**JIT, cache=True)
def im2col_strided_channels(x, n0, cols, c0, c1, y0, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw):
    """im2col_channels for a strided row: the row's inputs lie SW apart, which the bounds-test form
    gathers with a test each; here the in-image run [lo, hi) of each tap is read through unsigned
    flat offsets (no wraparound) and the rest zeroed: 64 CIFAR maps of 16x32x32, 3x3 stride 2:
    0.84 against 1.47 ms; of 32x16x16: 0.66 against 0.92 ms; 1x1 stride 2: 0.11 against 0.18."""
    pixels = out_h * out_w
    chunk = cols.shape[1] // pixels
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    flat, target = x.reshape(-1), cols.reshape(-1)
    columns = cols.shape[1]
    for c in range(c0, c1):
        for i in range(chunk):
            plane = ((n0 + i) * channels + c) * height * width
            for a in range(kh):
                for b in range(kw):
                    lo, hi = tap_range(b, width, out_w, sw, pw, dw)
                    row = ((c * kh + a) * kw + b) * columns + i * pixels
                    ix0 = input_index(lo, b, sw, pw, dw)
                    for y in range(out_h):
                        at = uint64(row + y * out_w)
                        iy = input_index(y0 + y, a, sh, ph, dh)
                        if iy < 0 or iy >= height:
                            for k in range(out_w):
                                target[at + uint64(k)] = 0
                            continue
                        for k in range(lo):
                            target[at + uint64(k)] = 0
                        source = uint64(plane + iy * width + ix0)
                        for k in range(hi - lo):
                            target[at + uint64(lo + k)] = flat[source + uint64(k * sw)]
                        for k in range(hi, out_w):
                            target[at + uint64(k)] = 0


@parallel_loop(**JIT)
def col2im(dcols, dx, n0, out_h, out_w, kh, kw, sh, sw, ph, pw, dh, dw):
    """dx[n0 .. n0 + chunk] += the adjoint of im2col applied to dcols; taps in the padding are dropped.

    Flat offsets in unsigned integers: Numba adds no negative-index wraparound
    to an unsigned index, so the inner loop is a plain strided add that LLVM
    vectorises, without making two array views per output row: 1.3-3x faster
    than those views (64 CIFAR-sized 16x32x32 maps: 1.5 against 4.9 ms; a
    chunk of 3: 56 against 78 us). dx and dcols are C-contiguous."""
    pixels = out_h * out_w
    chunk, columns = dcols.shape[1] // pixels, dcols.shape[1]
    channels, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    flat, source = dx.reshape(-1), dcols.reshape(-1)
    for job in prange(chunk * channels):
        i, c = job // channels, job % channels
        plane = ((n0 + i) * channels + c) * height * width
        for a in range(kh):
            lo_h, hi_h = tap_range(a, height, out_h, sh, ph, dh)
            for b in range(kw):
                lo_w, hi_w = tap_range(b, width, out_w, sw, pw, dw)
                row = ((c * kh + a) * kw + b) * columns + i * pixels
                ix0, count = input_index(lo_w, b, sw, pw, dw), hi_w - lo_w
                for y in range(lo_h, hi_h):
                    to = uint64(plane + input_index(y, a, sh, ph, dh) * width + ix0)
                    at = uint64(row + y * out_w + lo_w)
                    for k in range(count):
                        flat[to + uint64(k * sw)] += source[at + uint64(k)]

"""Direct float32 kernels for convolutions: no im2col, no GEMM (strided ones: strided_conv.py).

An image padded by (PH, PW) and laid out as one flat row per channel, with
row stride WP = W + 2*PW, turns a stride-1 conv into shifted copies of that
row: output pixel q = y*WP + x reads input q + a*WP + b at tap (a, b). Over
this "padded-width" domain a conv is

    out[o, q] = sum over c, a, b of  w[o, c, a, b] * xp[c, q + a*WP + b]

for every q, including the WP - OW columns past each output row, which are
computed and thrown away. (A "same" conv shares each pad column between
neighbours, WP = W + PW, and puts small maps side by side in one plane
(direct_conv.packing): 3% of the work thrown away at 32x32, 11% at 8x8.) A tile of
8 output channels x 3 vectors of LANES pixels lives in 24 vector registers
(cnnc.backend.cpu.simd) while every channel and tap streams through it: per
tap, 3 vector loads and 8 broadcasts feed 24 fused multiply-adds. On one core
this runs 3x3 convs at 170-240 GFLOP/s (a 4-channel tile: 120-220), against
80 GFLOP/s for im2col + OpenBLAS on two.

The same kernel gives the input gradient: dx is the conv of dy, padded by
(KH-1-PH, KW-1-PW), with the kernels flipped and in and out channels swapped.
The weight gradient is a long dot product per (o, c, a, b) over the same
domain, dy laid out with xp's row stride (zeros past each row):

    dw[o, c, a, b] = sum over n, q of  dy[n, o, q] * xp[n, c, q + a*WP + b]

in tiles of 4 output channels x 4 (c, a, b) rows, 16 vector accumulators.

Both kernels read tap t at a fixed offset past the output pixel, taps[t]
(a*WP + b above): a strided conv, its input stored as phases, has such
offsets too (strided_conv.py).
"""

from __future__ import annotations

from numba import int64, njit, prange, uint64

from .simd import LANES, vfma, vload, vsplat, vstore, vsum, vzero

JIT = {"error_model": "numpy"}
TILE_CHANNELS = 8  # output channels of a tile (8 x 3 vectors: 24 of the 32 AVX-512 registers)
TILE_PIXELS = 3 * LANES  # output pixels of a tile: its 3 vectors
CHANNEL_PASS = 64  # input channels a tile sums before the next channel block: rows and weights stay in cache
# Weight gradient: pixels of the images a block of images sums before its
# vector sums are reduced, at least one image. More images a block make fewer
# reductions (8x8 maps: 5 vectors an image); its planes stay in L2.
BLOCK_PIXELS = 1024


@njit(**JIT, cache=True, parallel=True)
def conv_shared(xp, packed, flat_out, taps, tiles_per_job, block_jobs, shares):
    """conv_share's `shares` shares, one a thread of Numba's pool."""
    for share in prange(shares):  # prange's index is unsigned: as int64, conv_share compiles once
        conv_share(xp, packed, flat_out, taps, tiles_per_job, block_jobs, int64(share), shares)


@njit(**JIT, cache=True)
def conv_share(xp, packed, flat_out, taps, tiles_per_job, block_jobs, share, shares):
    """Share `share` of `shares` of flat_out[n, o, q] = the conv of xp's flat planes (N, C, L),
    tap t reading xp[n, c, q + taps[t]] (tap_offsets).

    The batch's vectors of LANES output pixels are numbered image after image and a tile takes
    3 in a row, across two images where it must: no image is rounded up to whole tiles (8x8 maps
    compute 80 pixels an image, not 96). Jobs: (run of tiles_per_job tiles, one of block_jobs
    runs of channel blocks). A job sums CHANNEL_PASS input channels at a time over all its blocks
    and tiles: a pass's input rows and a block's weights stay in cache."""
    channels, length = xp.shape[1], xp.shape[2]
    pixels, blocks = flat_out.shape[2], packed.shape[0]
    vectors = xp.shape[0] * (pixels // LANES)
    tiles = -(-vectors // 3)
    jobs = -(-tiles // tiles_per_job) * block_jobs
    x, w, out = xp.reshape(xp.size), packed.reshape(packed.size), flat_out.reshape(flat_out.size)
    for job in range(share * jobs // shares, (share + 1) * jobs // shares):
        t0, b = job // block_jobs * tiles_per_job, job % block_jobs
        for c0 in range(0, channels, CHANNEL_PASS):
            c1 = min(c0 + CHANNEL_PASS, channels)
            for block in range(b * blocks // block_jobs, (b + 1) * blocks // block_jobs):
                weights = uint64(block * channels * taps.size * TILE_CHANNELS)
                for t in range(t0, min(t0 + tiles_per_job, tiles)):
                    i0, o0 = vector_at(3 * t, block, vectors, xp.shape, flat_out.shape)
                    i1, o1 = vector_at(3 * t + 1, block, vectors, xp.shape, flat_out.shape)
                    i2, o2 = vector_at(3 * t + 2, block, vectors, xp.shape, flat_out.shape)
                    tile(
                        x,
                        w,
                        out,
                        i0,
                        i1,
                        i2,
                        o0,
                        o1,
                        o2,
                        weights,
                        uint64(pixels),
                        c0,
                        c1,
                        c0 > 0,
                        length,
                        taps,
                    )


@njit(**JIT, cache=True, no_cpython_wrapper=True)
def vector_at(v, block, vectors, planes_shape, out_shape):
    """(flat input offset, flat output offset in channel block `block`) of the batch's vector v
    (past the last: the last, computed twice by the last tile and stored twice, alike)."""
    v = min(v, vectors - 1)
    per_image = out_shape[2] // LANES
    n, q = v // per_image, v % per_image * LANES
    return uint64(n * planes_shape[1] * planes_shape[2] + q), uint64(
        (n * out_shape[1] + block * TILE_CHANNELS) * out_shape[2] + q
    )


@njit(**JIT, cache=True, no_cpython_wrapper=True)
def tile(x, w, out, i0, i1, i2, o0, o1, o2, weights, step, c0, c1, accumulate, length, taps):
    """out's TILE_CHANNELS channels x 3 vectors (at o0, o1, o2) (+)= input channels [c0, c1) of
    the conv (x, w flat; the vectors' inputs at i0, i1, i2): 24 vector accumulators, and per tap
    3 vector loads and 8 broadcasts."""
    a00, a01, a02 = start3(out, o0, o1, o2, uint64(0), accumulate)
    a10, a11, a12 = start3(out, o0, o1, o2, step, accumulate)
    a20, a21, a22 = start3(out, o0, o1, o2, uint64(2) * step, accumulate)
    a30, a31, a32 = start3(out, o0, o1, o2, uint64(3) * step, accumulate)
    a40, a41, a42 = start3(out, o0, o1, o2, uint64(4) * step, accumulate)
    a50, a51, a52 = start3(out, o0, o1, o2, uint64(5) * step, accumulate)
    a60, a61, a62 = start3(out, o0, o1, o2, uint64(6) * step, accumulate)
    a70, a71, a72 = start3(out, o0, o1, o2, uint64(7) * step, accumulate)
    k = weights + uint64(c0 * taps.size * TILE_CHANNELS)
    for c in range(c0, c1):
        plane = uint64(c * length)
        for t in range(taps.size):
            d = plane + taps[t]
            x0, x1, x2 = load3(x, i0 + d, i1 + d, i2 + d)
            a00, a01, a02 = fma3(w[k], x0, x1, x2, a00, a01, a02)
            a10, a11, a12 = fma3(w[k + uint64(1)], x0, x1, x2, a10, a11, a12)
            a20, a21, a22 = fma3(w[k + uint64(2)], x0, x1, x2, a20, a21, a22)
            a30, a31, a32 = fma3(w[k + uint64(3)], x0, x1, x2, a30, a31, a32)
            a40, a41, a42 = fma3(w[k + uint64(4)], x0, x1, x2, a40, a41, a42)
            a50, a51, a52 = fma3(w[k + uint64(5)], x0, x1, x2, a50, a51, a52)
            a60, a61, a62 = fma3(w[k + uint64(6)], x0, x1, x2, a60, a61, a62)
            a70, a71, a72 = fma3(w[k + uint64(7)], x0, x1, x2, a70, a71, a72)
            k += uint64(TILE_CHANNELS)
    store3(out, o0, o1, o2, uint64(0), a00, a01, a02)
    store3(out, o0, o1, o2, step, a10, a11, a12)
    store3(out, o0, o1, o2, uint64(2) * step, a20, a21, a22)
    store3(out, o0, o1, o2, uint64(3) * step, a30, a31, a32)
    store3(out, o0, o1, o2, uint64(4) * step, a40, a41, a42)
    store3(out, o0, o1, o2, uint64(5) * step, a50, a51, a52)
    store3(out, o0, o1, o2, uint64(6) * step, a60, a61, a62)
    store3(out, o0, o1, o2, uint64(7) * step, a70, a71, a72)


@njit(**JIT, cache=True, no_cpython_wrapper=True)
def fma3(weight, x0, x1, x2, a0, a1, a2):
    """(a0, a1, a2) + weight * (x0, x1, x2)."""
    wv = vsplat(weight)
    return vfma(wv, x0, a0), vfma(wv, x1, a1), vfma(wv, x2, a2)


@njit(**JIT, cache=True, no_cpython_wrapper=True)
def start3(out, o0, o1, o2, shift, accumulate):
    """A row of accumulators: out's vectors at o0, o1, o2 (+ shift), or zeros."""
    if accumulate:
        return load3(out, o0 + shift, o1 + shift, o2 + shift)
    return vzero(), vzero(), vzero()


@njit(**JIT, cache=True, no_cpython_wrapper=True)
def load3(a, i0, i1, i2):
    """The vectors of a at i0, i1, i2."""
    return vload(a, i0), vload(a, i1), vload(a, i2)


@njit(**JIT, cache=True, no_cpython_wrapper=True)
def store3(out, o0, o1, o2, shift, v0, v1, v2):
    """out's vectors at o0, o1, o2 (+ shift) = v0, v1, v2."""
    vstore(out, o0 + shift, v0)
    vstore(out, o1 + shift, v1)
    vstore(out, o2 + shift, v2)


@njit(**JIT, cache=True, parallel=True)
def weight_grad_shared(xp, dyq, offset, partial, taps, pixels, per_block, shares):
    """weight_grad_share's `shares` shares, one a thread of Numba's pool."""
    for share in prange(shares):
        weight_grad_share(xp, dyq, offset, partial, taps, pixels, per_block, int64(share), shares)


@njit(**JIT, cache=True)
def weight_grad_share(xp, dyq, offset, partial, taps, pixels, per_block, share, shares):
    """partial[share, o, r] += sum over q < pixels and the images of blocks share, share + shares,
    .. (per_block images each) of dyq[n, o, offset + q] * xp[n, c, q + taps[t]], r = c*len(taps) + t."""
    for n0 in range(share * per_block, xp.shape[0], shares * per_block):
        n1 = min(n0 + per_block, xp.shape[0])
        weight_grad_images(xp, dyq, offset, partial[share], n0, n1, taps, pixels)


@njit(**JIT, cache=True, no_cpython_wrapper=True)
def weight_grad_images(xp, dyq, offset, partial, n0, n1, taps, pixels):
    channels, length = xp.shape[1], xp.shape[2]
    out_channels, dy_length = dyq.shape[1], dyq.shape[2]
    rows = channels * taps.size
    x, dy = xp.reshape(xp.size), dyq.reshape(dyq.size)
    for o0 in range(0, out_channels, 4):
        o = (o0, min(o0 + 1, out_channels - 1), min(o0 + 2, out_channels - 1), min(o0 + 3, out_channels - 1))
        for r0 in range(0, rows, 4):
            s0, s1, s2, s3 = row_offset(r0, rows, taps, length)
            a00, a01, a02, a03 = vzero(), vzero(), vzero(), vzero()
            a10, a11, a12, a13 = vzero(), vzero(), vzero(), vzero()
            a20, a21, a22, a23 = vzero(), vzero(), vzero(), vzero()
            a30, a31, a32, a33 = vzero(), vzero(), vzero(), vzero()
            for n in range(n0, n1):
                image = uint64(n * channels * length)
                d = uint64(n * out_channels * dy_length + offset)
                d0, d1 = d + uint64(o[0] * dy_length), d + uint64(o[1] * dy_length)
                d2, d3 = d + uint64(o[2] * dy_length), d + uint64(o[3] * dy_length)
                for q in range(0, pixels, LANES):
                    u = uint64(q)
                    x0, x1 = vload(x, image + s0 + u), vload(x, image + s1 + u)
                    x2, x3 = vload(x, image + s2 + u), vload(x, image + s3 + u)
                    g = vload(dy, d0 + u)
                    a00, a01, a02, a03 = vfma(g, x0, a00), vfma(g, x1, a01), vfma(g, x2, a02), vfma(g, x3, a03)
                    g = vload(dy, d1 + u)
                    a10, a11, a12, a13 = vfma(g, x0, a10), vfma(g, x1, a11), vfma(g, x2, a12), vfma(g, x3, a13)
                    g = vload(dy, d2 + u)
                    a20, a21, a22, a23 = vfma(g, x0, a20), vfma(g, x1, a21), vfma(g, x2, a22), vfma(g, x3, a23)
                    g = vload(dy, d3 + u)
                    a30, a31, a32, a33 = vfma(g, x0, a30), vfma(g, x1, a31), vfma(g, x2, a32), vfma(g, x3, a33)
            add_sums(partial, o0, r0, a00, a01, a02, a03)
            add_sums(partial, o0 + 1, r0, a10, a11, a12, a13)
            add_sums(partial, o0 + 2, r0, a20, a21, a22, a23)
            add_sums(partial, o0 + 3, r0, a30, a31, a32, a33)


@njit(**JIT, cache=True, no_cpython_wrapper=True)
def add_sums(partial, o, r0, v0, v1, v2, v3):
    partial[o, r0] += vsum(v0)
    partial[o, r0 + 1] += vsum(v1)
    partial[o, r0 + 2] += vsum(v2)
    partial[o, r0 + 3] += vsum(v3)


@njit(**JIT, cache=True, no_cpython_wrapper=True)
def row_offset(r0, rows, taps, length):
    """Flat offsets of rows r0 .. r0+3 of the (c, tap) rows (past the last: the last row again)."""
    return (
        tap_offset(min(r0, rows - 1), taps, length),
        tap_offset(min(r0 + 1, rows - 1), taps, length),
        tap_offset(min(r0 + 2, rows - 1), taps, length),
        tap_offset(min(r0 + 3, rows - 1), taps, length),
    )


@njit(**JIT, cache=True, no_cpython_wrapper=True)
def tap_offset(r, taps, length):
    """Flat offset of row r = c*len(taps) + t: channel c's plane, shifted by tap t."""
    return uint64(r // taps.size * length) + taps[r % taps.size]

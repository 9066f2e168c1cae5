"""The flat padded planes the direct conv kernels (cnnc.backend.cpu.direct) read and write.

A conv input padded by (PH, PW) is stored one flat row of L elements per
(image, channel), or per (group of images side by side, channel): its rows
of `stride` elements one after another, then zeros, so that every tap's
shifted vector load stays inside the row (direct_conv.packing chooses the
layout). The tiles' output comes back in the same layout (output row y at
y*stride) and is cropped to NCHW, with the bias, by crop_share. The
weights are packed so that a tile's output channels of one tap lie side by
side.
"""

from __future__ import annotations

from numba import int64, njit, prange, uint64

from .direct import JIT, TILE_CHANNELS
from .simd import LANES

SLACK = 4 * LANES  # zeros past every flat plane: tiles read (and write) past the last row


def flat_length(rows: int, stride: int, kh: int, kw: int) -> int:
    """Elements of a flat plane that a conv with rows*stride output pixels reads (vectors and slack included)."""
    return flat_pixels(rows, stride) + (kh - 1) * stride + kw - 1 + SLACK


def flat_pixels(rows: int, stride: int) -> int:
    """Output pixels a flat output plane holds: rows*stride in whole vectors."""
    return -(-rows * stride // LANES) * LANES


@njit(**JIT, cache=True, parallel=True)
def pad_shared(x, xp, top, left, stride, group, block, shares):
    """pad_share's `shares` shares, one a thread of Numba's pool."""
    for share in prange(shares):
        pad_share(x, xp, top, left, stride, group, block, int64(share), shares)


@njit(**JIT, cache=True)
def pad_share(x, xp, top, left, stride, group, block, share, shares):
    """Share `share` of `shares` of the planes (m, c): xp[m, c] holds the planes x[n, c] of the
    `group` images n = m*group + g side by side, each at rows top.., columns g*block + left.. of
    rows of `stride`; zeros elsewhere (and for images past the batch)."""
    images, channels, height, width = x.shape
    planes, length = xp.shape[0] * channels, xp.shape[2]
    flat, source = xp.reshape(xp.size), x.reshape(x.size)
    for plane in range(share * planes // shares, (share + 1) * planes // shares):
        m, c = plane // channels, plane % channels
        base = uint64(plane * length)
        for i in range(length):
            flat[base + uint64(i)] = 0.0
        for g in range(min(group, images - m * group)):
            image = uint64(((m * group + g) * channels + c) * height * width)
            for y in range(height):
                row, line = base + uint64((y + top) * stride + g * block + left), image + uint64(y * width)
                for j in range(width):
                    flat[row + uint64(j)] = source[line + uint64(j)]


@njit(**JIT, cache=True, parallel=True)
def crop_shared(flat_out, out, first, stride, group, block, bias, floor, shares):
    """crop_share's `shares` shares, one a thread of Numba's pool."""
    for share in prange(shares):
        crop_share(flat_out, out, first, stride, group, block, bias, floor, int64(share), shares)


@njit(**JIT, cache=True)
def crop_share(flat_out, out, first, stride, group, block, bias, floor, share, shares):
    """Share `share` of `shares` of the planes (n, o), o < len(bias): out[n, first + o, y, x] =
    max(flat_out[m, o, y*stride + g*block + x] + bias[o], floor) for n = m*group + g (pad_share's
    layout): floor 0 applies a fused ReLU, -inf none (NaN passes, as ReLU's); `first` places the
    channels in a wider output (a concat's)."""
    channels, height, width = bias.size, out.shape[2], out.shape[3]
    length = flat_out.shape[2]
    flat, target = flat_out.reshape(flat_out.size), out.reshape(out.size)
    for plane in range(share * out.shape[0] * channels // shares, (share + 1) * out.shape[0] * channels // shares):
        n, o = plane // channels, plane % channels
        base = uint64(((n // group) * flat_out.shape[1] + o) * length + n % group * block)
        image = uint64((n * out.shape[1] + first + o) * height * width)
        shift = bias[o]
        for y in range(height):
            row, line = base + uint64(y * stride), image + uint64(y * width)
            for j in range(width):
                v = flat[row + uint64(j)] + shift
                target[line + uint64(j)] = floor if v < floor else v


@njit(**JIT, cache=True)
def pack_weights(w, packed, swapped):
    """packed[block, i, tap, j] = the weight from input channel i to output channel
    block*TILE_CHANNELS + j at tap (a, b) = divmod(tap, KW): w[o, i, a, b], or with swapped
    (the input gradient's kernel) w[i, o, KH-1-a, KW-1-b]; 0 past the last output channel.
    Reads w in its own order, one contiguous (channel, tap) row at a time."""
    rows, columns, taps = w.shape[0], w.shape[1], w.shape[2] * w.shape[3]
    source = w.reshape(rows, columns, taps)
    outs = columns if swapped else rows
    for o in range(outs, packed.shape[0] * TILE_CHANNELS):  # the last block's missing channels
        packed[o // TILE_CHANNELS, :, :, o % TILE_CHANNELS] = 0.0
    for r in range(rows):
        for c in range(columns):
            o, i = (c, r) if swapped else (r, c)
            block, j = o // TILE_CHANNELS, o % TILE_CHANNELS
            for tap in range(taps):
                packed[block, i, taps - 1 - tap if swapped else tap, j] = source[r, c, tap]


@njit(**JIT, cache=True, parallel=True)
def phase_shared(x, xp, window, slots, row, length, shares):
    """phase_share's `shares` shares, one a thread of Numba's pool."""
    for share in prange(shares):
        phase_share(x, xp, window, slots, row, length, int64(share), shares)


@njit(**JIT, cache=True)
def phase_share(x, xp, window, slots, row, length, share, shares):
    """Share `share` of `shares` of the planes (n, c): the phases of x[n, c] padded by (PH, PW),
    window = (SH, SW, PH, PW): phase k = slots[k] = (p, q) at xp[n, c, k*length + i*row + j] =
    x[n, c, SH*i + p - PH, SW*j + q - PW], zeros outside x and past row columns."""
    (sh, sw, ph, pw), height, width = window, x.shape[2], x.shape[3]
    planes = x.shape[0] * x.shape[1]
    flat, source = xp.reshape(xp.size), x.reshape(x.size)
    for plane in range(share * planes // shares, (share + 1) * planes // shares):
        base, image = uint64(plane * xp.shape[2]), uint64(plane * height * width)
        for i in range(xp.shape[2]):
            flat[base + uint64(i)] = 0.0
        for k in range(slots.shape[0]):
            p, q = slots[k, 0], slots[k, 1]
            j0, j1 = max(0, (pw - q + sw - 1) // sw), min(row, (width - 1 - q + pw) // sw + 1)
            for i in range(max(0, (ph - p + sh - 1) // sh), min(length // row, (height - 1 - p + ph) // sh + 1)):
                target = base + uint64(k * length + i * row)
                line = image + uint64((sh * i + p - ph) * width + q - pw)
                for j in range(j0, j1):
                    flat[target + uint64(j)] = source[line + uint64(sw * j)]


@njit(**JIT, cache=True, parallel=True)
def unphase_shared(flat_out, dx, window, slot_of, row, shares):
    """unphase_share's `shares` shares, one a thread of Numba's pool."""
    for share in prange(shares):
        unphase_share(flat_out, dx, window, slot_of, row, int64(share), shares)


@njit(**JIT, cache=True)
def unphase_share(flat_out, dx, window, slot_of, row, share, shares):
    """Share `share` of `shares` of the planes (n, c) of dx from its phases, the inverse of
    phase_share: dx[n, c, SH*i + p - PH, SW*j + q - PW] = flat_out[k, n, c, i*row + j] for
    phase k = slot_of[p, q], zeros for a phase of no slot (-1)."""
    (sh, sw, ph, pw), channels, height, width = window, dx.shape[1], dx.shape[2], dx.shape[3]
    images, blocks, pixels = flat_out.shape[1], flat_out.shape[2], flat_out.shape[3]
    flat, target = flat_out.reshape(flat_out.size), dx.reshape(dx.size)
    for plane in range(share * dx.shape[0] * channels // shares, (share + 1) * dx.shape[0] * channels // shares):
        n, c = plane // channels, plane % channels
        image = uint64(plane * height * width)
        for p in range(sh):
            for q in range(sw):
                k = slot_of[p, q]
                base = uint64(((max(k, 0) * images + n) * blocks + c) * pixels)
                j0, j1 = max(0, (pw - q + sw - 1) // sw), (width - 1 - q + pw) // sw + 1
                for i in range(max(0, (ph - p + sh - 1) // sh), (height - 1 - p + ph) // sh + 1):
                    line = image + uint64((sh * i + p - ph) * width + q - pw)
                    source = base + uint64(i * row)
                    for j in range(j0, j1):
                        target[line + uint64(sw * j)] = flat[source + uint64(j)] if k >= 0 else 0.0

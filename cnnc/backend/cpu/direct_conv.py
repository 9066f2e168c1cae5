"""The direct conv kernels (cnnc.backend.cpu.direct) from the arrays conv.py holds.

forward pads x into flat planes, runs the tiles and crops their flat output
to (N, O, OH, OW) with the bias; backward reads the saved planes and dy for
the weight gradient, and for dx runs the tiles over dy's own padded planes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numba import get_num_threads

from .direct import (
    BLOCK_PIXELS,
    CHANNEL_PASS,
    TILE_CHANNELS,
    TILE_PIXELS,
    conv_share,
    conv_shared,
    weight_grad_share,
    weight_grad_shared,
)
from .planes import crop_share, crop_shared, flat_length, flat_pixels, pack_weights, pad_share, pad_shared

# Columns a row of small maps may take, images side by side (packing): 4 maps of
# 8x8 in rows of 36 keep 32 of the 36 pixels computed (8 of 10 one a row).
PACK_COLUMNS = 36
# A parallel job's tiles: an image's worth when a channel pass of its planes
# (CHANNEL_PASS planes) fits PASS_BYTES, so that each channel block's weights
# are read once (VGG-16 at batch 1, 2 threads: 512 channels at 28x28 16.0 ->
# 11.3 ms, 256 at 56x56 11.6 -> 8.7 ms); else runs of TILES_PER_JOB tiles,
# whose pass stays in L2 across the blocks.
PASS_BYTES = 1 << 20
TILES_PER_JOB = 8

# Multiply-adds from which a kernel's work is shared among Numba's threads
# (its parallel wrapper; below, the serial kernel runs alone and the wrapper is
# never compiled): waking the second thread costs 40-50 us here, 2^24
# multiply-adds take about 0.15 ms on one core. A pool of Python threads
# running nogil kernels would need no parfor compilation (0.6 s), but each
# hand-off cost 52-77 us and ResNet-20's step was 7% slower.
PARALLEL_WORK = 1 << 24
# Multiply-adds from which that wrapper is compiled (about 0.6 s): the digits
# demo's evaluation batches (85-94M) then run their convs serially, as fast
# as shared (warm demo 4.09-4.30 against 4.35-4.78 s), and its cold run skips
# the compilation (8.09-8.22 against 8.71-8.87 s). ResNet-20's and VGG-16's
# convs are larger and compile it at their first conv.
PARALLEL_COMPILE = 1 << 27
# Elements from which padding and cropping are shared among the threads too
# (memory-bound copies), and from which they are once their parallel wrapper
# is compiled: compiling one costs about 0.6 s, which the digits demo's
# evaluation batches (below COPY_WORK) never repay. From 2^18 rather than only
# 2^20, ResNet-20's step (its first stage compiles them) ran 2-7% faster
# (A/B in one process; OpenMP's workers spinning briefly, cpu/__init__.py).
COPY_WORK = 1 << 20
COPY_RUN = 1 << 18


@dataclass(frozen=True)
class Place:
    """Where a conv's output goes: channels first.. of buffer (N, C, OH, OW) (a concat's, written
    in place), or a new array (buffer None); relu applies a fused ReLU on the way."""

    buffer: np.ndarray | None = None
    first: int = 0
    relu: bool = False


@dataclass(frozen=True)
class Packing:
    """How images lie in flat planes: `group` images side by side in each, image g's columns
    from g*block, in rows of `stride` elements."""

    group: int = 1
    block: int = 0
    stride: int = 0


def packing(batch: int, width: int, pad, kernel) -> Packing:
    """A "same" conv (2*PW = KW - 1) shares each pad column between neighbours: an image takes
    W + PW columns, the row's last image reaching into the next row's left pad, and small maps
    lie up to PACK_COLUMNS // (W + PW) images to a row (a divisor of the batch). Else one image
    a plane, in rows of W + 2*PW."""
    (pw, kw) = pad[1], kernel[1]
    if 2 * pw != kw - 1:
        return Packing(1, 0, width + 2 * pw)
    block = width + pw
    group = max(g for g in range(1, max(1, min(batch, PACK_COLUMNS // block)) + 1) if batch % g == 0)
    return Packing(group, block, group * block)


@dataclass(frozen=True)
class Planes:
    """A conv input as flat planes (N / group, C, L) laid out as `packing` says, kept for
    backward; tap t of the conv reads data[m, c, q + taps[t]] for output pixel q (as uint64)."""

    data: np.ndarray
    packing: Packing
    taps: np.ndarray

    @property
    def stride(self) -> int:
        return self.packing.stride


def pad_planes(x, data, top, left, layout: Packing) -> None:
    """data = x's planes padded by (top, left), laid out as `layout` says (planes.pad_share)."""
    args = (x, data, top, left, layout.stride, layout.group, layout.block)
    run(pad_share, pad_shared, copy_shares(data.size, pad_shared), *args)


def copy_shares(work: int, shared) -> int:
    """Threads for a copy of `work` elements whose parallel wrapper is `shared`: from COPY_WORK,
    or from COPY_RUN once that wrapper is compiled."""
    return shares_for(work, COPY_RUN if shared.signatures else COPY_WORK)


def tile_shares(work: int, shared) -> int:
    """Threads for `work` multiply-adds of a kernel whose parallel wrapper is `shared`: from
    PARALLEL_COMPILE, or from PARALLEL_WORK once that wrapper is compiled."""
    return shares_for(work, PARALLEL_WORK if shared.signatures else PARALLEL_COMPILE)


def shares_for(work: int, threshold: int) -> int:
    """Threads to share this much work: Numba's thread count (NUMBA_NUM_THREADS) from threshold, else 1."""
    return get_num_threads() if work >= threshold else 1


def run(kernel, shared, shares: int, *args) -> None:
    """kernel(*args, 0, 1) alone, or shared(*args, shares): kernel's shares on Numba's threads."""
    if shares == 1:
        kernel(*args, 0, 1)
    else:
        shared(*args, shares)


def padded(x, pad, kernel, layout: Packing) -> Planes:
    """x (N, C, H, W) padded by pad = (PH, PW) as flat planes long enough for a conv by kernel."""
    (batch, channels, height, _), (ph, pw), (kh, kw) = x.shape, pad, kernel
    length = flat_length(height + 2 * ph - kh + 1, layout.stride, kh, kw)
    data = np.empty((-(-batch // layout.group), channels, length), dtype=np.float32)
    pad_planes(x, data, ph, pw, layout)
    return Planes(data, layout, tap_offsets(layout.stride, kh, kw))


def forward(x, w, bias, pad, place: Place | None = None):
    """(out, planes): the stride-1 conv of float32 x (N, C, H, W) by w (O, C, KH, KW), padded by
    pad = (PH, PW), plus bias (O,) or None, written to place (crop); planes are what backward reads."""
    planes = padded(x, pad, w.shape[2:], packing(x.shape[0], x.shape[3], pad, w.shape[2:]))
    out_h, out_w = x.shape[2] + 2 * pad[0] - w.shape[2] + 1, x.shape[3] + 2 * pad[1] - w.shape[3] + 1
    flat = conv(planes, w, out_h)
    return crop(flat, w.shape[0], (x.shape[0], out_h, out_w), planes.packing, bias, place), planes


def conv(planes: Planes, w, out_h: int, swapped: bool = False, flat=None):
    """The tiles' flat output (planes, O rounded up to TILE_CHANNELS, pixels): output row y at
    y*planes.stride, laid out as planes.packing, written into flat if given. With swapped, the conv by w's flipped kernels with in and out
    channels swapped (dx's)."""
    batch = planes.data.shape[0]
    outs, ins = (w.shape[1], w.shape[0]) if swapped else w.shape[:2]
    packed = np.empty((-(-outs // TILE_CHANNELS), ins, w.shape[2] * w.shape[3], TILE_CHANNELS), dtype=np.float32)
    pack_weights(w, packed, swapped)
    if flat is None:
        flat = np.empty((batch, packed.shape[0] * TILE_CHANNELS, flat_pixels(out_h, planes.stride)), np.float32)
    whole = min(CHANNEL_PASS, planes.data.shape[1]) * planes.data.shape[2] * 4 <= PASS_BYTES
    tiles_per_job = -(-flat.shape[2] // TILE_PIXELS) if whole else TILES_PER_JOB
    tiles = -(-batch * flat.shape[2] // TILE_PIXELS)  # tiles span images (direct.conv_share)
    jobs = -(-tiles // tiles_per_job)
    block_jobs = min(packed.shape[0], -(-4 * get_num_threads() // jobs))  # >= 4 jobs a thread
    shares = tile_shares(flat.size * ins * w.shape[2] * w.shape[3], conv_shared)
    args = (planes.data, packed, flat, planes.taps, tiles_per_job, block_jobs)
    run(conv_share, conv_shared, shares, *args)
    return flat


@cache  # 34 calls a ResNet-20 step, 15 us each when made afresh
def tap_offsets(stride: int, kh: int, kw: int):
    """Where tap (a, b) of a stride-1 conv reads, past its output pixel: a*stride + b, tap by tap
    (read-only: shared by every call)."""
    return tap_table(np.arange(kh)[:, None] * stride + np.arange(kw))


def tap_table(offsets):
    """Tap offsets as the kernels take them: read-only uint64 (one Numba signature for all)."""
    taps = np.array(offsets, dtype=np.uint64).ravel()
    taps.flags.writeable = False
    return taps


def crop(flat, channels: int, shape, layout: Packing, bias=None, place: Place | None = None):
    """(N, channels, OH, OW), shape = (N, OH, OW), from conv's flat output laid out as `layout`
    says, plus bias (channels,) or None, then the place's ReLU; written into the place's channels
    of its buffer (and that view returned) if given."""
    place = place or Place()
    out = place.buffer
    if out is None:
        out = np.empty((shape[0], channels, *shape[1:]), dtype=np.float32)
    shift = np.zeros(channels, np.float32) if bias is None else bias
    floor = np.float32(0 if place.relu else -np.inf)
    args = (flat, out, place.first, layout.stride, layout.group, layout.block, shift, floor)
    run(crop_share, crop_shared, copy_shares(channels * np.prod(shape), crop_shared), *args)
    return out[:, place.first : place.first + channels] if place.buffer is not None else out


def backward(planes: Planes, dy, w, pad, input_shape, wants_dx: bool):
    """(dw, dx or None) of the conv of planes by w, from dy (N, O, OH, OW): dx is the conv of dy
    padded by (KH-1-PH, KW-1-PW) with the kernels flipped and in and out channels swapped."""
    (batch, out_channels, out_h, out_w), (_, channels, kh, kw), (ph, pw) = dy.shape, w.shape, pad
    top, left = kh - 1 - ph, kw - 1 - pw
    # A "same" conv's dy is laid out as x (packing); otherwise in rows of its own padded width.
    layout = planes.packing if 2 * pw == kw - 1 else Packing(1, 0, out_w + 2 * left)
    same = layout == planes.packing  # dy[n, o, y, x] at offset + y*stride + x of dy's planes
    dy_planes = padded(dy, (top, left), (kh, kw), layout) if wants_dx or same else None
    if same:
        dyq, offset = dy_planes.data, top * layout.stride + left
    else:
        dyq, offset = np.empty((batch, out_channels, flat_length(out_h, planes.stride, 1, 1)), np.float32), 0
        pad_planes(dy, dyq, 0, 0, planes.packing)
    dw = weight_grad(planes, dyq, offset, w.shape, out_h)
    if not wants_dx:
        return dw, None
    flat = conv(dy_planes, w, input_shape[0], swapped=True)
    return dw, crop(flat, channels, (batch, *input_shape), layout)


def weight_grad(planes: Planes, dyq, offset: int, shape, out_h: int):
    """dw (O, C, KH, KW) from the input planes and dy's planes of the same row stride."""
    out_channels, channels, kh, kw = shape
    batch, rows, pixels = dyq.shape[0], channels * kh * kw, flat_pixels(out_h, planes.stride)
    per_block = max(1, BLOCK_PIXELS // pixels)
    shares = min(tile_shares(batch * out_channels * rows * pixels, weight_grad_shared), -(-batch // per_block))
    partial = np.zeros((shares, -(-out_channels // 4) * 4, -(-rows // 4) * 4), dtype=np.float32)  # one a thread
    args = (planes.data, dyq, offset, partial, planes.taps, pixels, per_block)
    run(weight_grad_share, weight_grad_shared, shares, *args)
    return partial.sum(axis=0)[:out_channels, :rows].reshape(shape)

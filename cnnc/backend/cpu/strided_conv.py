"""Strided convs on the direct kernels (cnnc.backend.cpu.direct), through the input's phases.

With strides (SH, SW), output pixel (y, x) reads the padded input at
(SH*y + a, SW*x + b): tap (a, b) falls in phase (p, q) = (a % SH, b % SW)
of the input, the plane of its pixels (SH*i + p, SW*j + q), at (y + a // SH,
x + b // SW). Stored as flat planes of one row stride (the output's width
plus the taps' reach), the phases of a channel one after another, every tap
is a fixed offset past the output pixel, as in a stride-1 conv: the same
tiles and weight gradient run, on the same amount of work as im2col + GEMM
and without the columns. Only the phases some tap reads are stored (one of
four for a 1x1 conv at stride 2).

The input gradient is a stride-1 conv too, one output channel per (phase,
input channel): dx's phase (p, q) at (i, j) is the sum of w[o, c, p + SH*m,
q + SW*n] * dy[o, i - m, j - n], a conv of dy padded by (KH' - 1, KW' - 1)
with kernels of KH' = ceil(KH / SH) by KW' taps (zeros where a phase has
fewer), after which unphase_share puts each phase's pixels back in place.
"""

from __future__ import annotations

import numpy as np

from .direct import TILE_CHANNELS
from .direct_conv import (
    Packing,
    Place,
    Planes,
    conv,
    copy_shares,
    crop,
    pad_planes,
    run,
    tap_table,
    weight_grad,
)
from .planes import flat_length, flat_pixels, phase_share, phase_shared, unphase_share, unphase_shared


def phase_slots(kernel, stride) -> np.ndarray:
    """The phases (p, q) some tap of the kernel reads, in order, as an (S, 2) array."""
    (kh, kw), (sh, sw) = kernel, stride
    return np.array(sorted({(a % sh, b % sw) for a in range(kh) for b in range(kw)}), dtype=np.int64)


def reach(kernel, stride) -> tuple[int, int]:
    """Rows and columns of a phase that one output pixel's taps span: ceil(K / S) each."""
    return (kernel[0] - 1) // stride[0] + 1, (kernel[1] - 1) // stride[1] + 1


def forward(x, w, bias, stride, pad, place: Place | None = None):
    """(out, planes) of the conv of float32 x (N, C, H, W) by w (O, C, KH, KW) with strides
    stride = (SH, SW) and padding pad = (PH, PW), plus bias (O,) or None, written to place."""
    (batch, channels, height, width), (kh, kw) = x.shape, w.shape[2:]
    out_h = (height + 2 * pad[0] - kh) // stride[0] + 1
    out_w = (width + 2 * pad[1] - kw) // stride[1] + 1
    (rh, rw), slots = reach((kh, kw), stride), phase_slots((kh, kw), stride)
    row, slot_of = out_w + rw - 1, {tuple(s): k for k, s in enumerate(slots.tolist())}
    length = flat_length(out_h, row, rh, rw)
    data = np.empty((batch, channels, len(slots) * length), dtype=np.float32)
    args = (x, data, np.array([*stride, *pad], dtype=np.int64), slots, row, length)
    run(phase_share, phase_shared, copy_shares(data.size, phase_shared), *args)
    taps = [slot_of[a % stride[0], b % stride[1]] * length + a // stride[0] * row + b // stride[1]
            for a in range(kh) for b in range(kw)]  # fmt: skip
    planes = Planes(data, Packing(1, 0, row), tap_table(taps))
    flat = conv(planes, w, out_h)
    return crop(flat, w.shape[0], (batch, out_h, out_w), planes.packing, bias, place), planes


def backward(planes: Planes, dy, w, stride, pad, input_shape, wants_dx: bool):
    """(dw, dx or None) of the strided conv of planes (forward's) by w, from dy (N, O, OH, OW)."""
    (batch, out_channels, out_h, _), row = dy.shape, planes.stride
    dyq = np.empty((batch, out_channels, flat_length(out_h, row, 1, 1)), np.float32)
    pad_planes(dy, dyq, 0, 0, planes.packing)  # dy in rows of the phases' stride, zeros past OW
    dw = weight_grad(planes, dyq, 0, w.shape, out_h)
    return dw, (input_grad(dy, w, stride, pad, input_shape) if wants_dx else None)


def input_grad(dy, w, stride, pad, input_shape):
    """dx (N, C, H, W): per phase, the stride-1 conv of dy by phase_kernel, unphased."""
    (batch, out_channels, _, _), (height, width) = dy.shape, input_shape
    (rh, rw), slots = reach(w.shape[2:], stride), phase_slots(w.shape[2:], stride)
    rows, columns = (pad[0] + height - 1) // stride[0] + 1, (pad[1] + width - 1) // stride[1] + 1
    row = columns + rw - 1
    data = np.empty((batch, out_channels, flat_length(rows, row, rh, rw)), dtype=np.float32)
    pad_planes(dy, data, rh - 1, rw - 1, Packing(1, 0, row))
    blocks = -(-w.shape[1] // TILE_CHANNELS) * TILE_CHANNELS
    flat = np.empty((len(slots), batch, blocks, flat_pixels(rows, row)), dtype=np.float32)
    for k, (p, q) in enumerate(slots.tolist()):
        kernel, taps = phase_kernel(w, stride, (p, q), (rh, rw), row)
        conv(Planes(data, Packing(1, 0, row), taps), kernel, rows, flat=flat[k])
    slot_of = np.full(stride, -1, dtype=np.int64)
    slot_of[slots[:, 0], slots[:, 1]] = np.arange(len(slots))
    dx = np.empty((batch, w.shape[1], height, width), dtype=np.float32)
    args = (flat, dx, np.array([*stride, *pad], dtype=np.int64), slot_of, row)
    run(unphase_share, unphase_shared, copy_shares(dx.size, unphase_shared), *args)
    return dx


def phase_kernel(w, stride, phase, reach_, row):
    """(kernel (C, O, M, N), taps) of dx's phase (p, q) over dy padded by reach - 1: tap (m, n)
    weighs w[o, c, p + SH*m, q + SW*n] and reads dy at (i - m, j - n)."""
    (p, q), (rh, rw) = phase, reach_
    kernel = np.ascontiguousarray(w[:, :, p :: stride[0], q :: stride[1]].transpose(1, 0, 2, 3))
    m, n = np.arange(kernel.shape[2]), np.arange(kernel.shape[3])
    return kernel, tap_table((rh - 1 - m)[:, None] * row + (rw - 1 - n))

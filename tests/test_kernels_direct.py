"""The direct conv kernels (cnnc.backend.cpu.direct, direct_conv) against PyTorch, and when conv takes them.

Their strided use (strided_conv) has its own shapes in test_kernels_strided.py."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit, uint64

from cnnc.backend.cpu import conv, direct_conv, strided_conv
from cnnc.backend.cpu.simd import LANES, vfma, vload, vsplat, vstore, vsum
from tests.kernel_check import torch_parity

torch = pytest.importorskip("torch")
F = torch.nn.functional

# (N, C, O, H, W, KH, KW, PH, PW): tails of every tile (O not a multiple of 4,
# K = C*KH*KW rows not a multiple of 4, pixels not a multiple of a tile), more
# input channels than CHANNEL_PASS, more tiles than TILES_PER_JOB, "valid" and
# uneven padding (dy then needs its own planes for the weight gradient), a 7x7
# kernel, 1x1 and 2x3 images (a tile's vectors then span several images);
# "same" convs lay small maps side by side, 1 to 5 a plane (packing).
SHAPES = [
    (2, 3, 5, 7, 9, 3, 3, 1, 1),
    (3, 16, 16, 32, 32, 3, 3, 1, 1),
    (2, 1, 6, 28, 28, 5, 5, 0, 0),
    (2, 6, 16, 14, 14, 5, 5, 2, 2),
    (1, 4, 7, 5, 6, 3, 2, 0, 1),
    (2, 5, 3, 4, 4, 3, 3, 2, 2),
    (2, 8, 9, 8, 8, 1, 3, 0, 1),
    (1, 70, 9, 6, 7, 3, 3, 1, 1),
    (1, 2, 4, 60, 61, 3, 3, 1, 1),
    (1, 3, 5, 9, 11, 7, 7, 3, 3),
    (3, 2, 3, 1, 1, 3, 3, 1, 1),
    (5, 2, 3, 2, 3, 3, 3, 1, 1),
    (4, 3, 5, 6, 6, 3, 1, 1, 0),  # 3x1: four maps a plane with no pad column between them
    (7, 3, 4, 5, 5, 3, 3, 1, 1),  # a batch of 7: one map a plane, pad columns still shared
]


def conv_case(shape, seed=0):
    n, c, o, h, w, kh, kw, ph, pw = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    weight = rng.standard_normal((o, c, kh, kw), dtype=np.float32)
    bias = rng.standard_normal(o, dtype=np.float32)
    dy = rng.standard_normal((n, o, h + 2 * ph - kh + 1, w + 2 * pw - kw + 1), dtype=np.float32)
    return x, weight, bias, dy, (ph, pw)


def close(actual, expected):
    """float32 parity: rtol 1e-4 of the largest magnitude (sums of up to C*KH*KW*N*P products)."""
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_direct_conv_matches_torch_forward_and_backward(shape):
    x, weight, bias, dy, pad = conv_case(shape)
    out, planes = direct_conv.forward(x, weight, bias, pad)
    tx, tw = torch.from_numpy(x).requires_grad_(), torch.from_numpy(weight).requires_grad_()
    expected = F.conv2d(tx, tw, torch.from_numpy(bias), padding=pad)
    expected.backward(torch.from_numpy(dy))
    close(out, expected.detach().numpy())
    dw, dx = direct_conv.backward(planes, dy, weight, pad, x.shape[2:], wants_dx=True)
    close(dw, tw.grad.numpy())
    close(dx, tx.grad.numpy())
    dw_only, none = direct_conv.backward(planes, dy, weight, pad, x.shape[2:], wants_dx=False)
    assert none is None
    np.testing.assert_array_equal(dw_only, dw)


@pytest.mark.parametrize("shape", [SHAPES[1], SHAPES[7]], ids=str)
def test_parallel_and_serial_twins_agree(shape, monkeypatch):
    """Shares split tiles and channel blocks, never a sum: the forward is bit-equal on any thread
    count; the weight gradient's per-thread partial sums only reorder float32 additions."""
    x, weight, bias, dy, pad = conv_case(shape)
    monkeypatch.setattr(direct_conv, "PARALLEL_WORK", 0)
    monkeypatch.setattr(direct_conv, "PARALLEL_COMPILE", 0)
    monkeypatch.setattr(direct_conv, "COPY_WORK", 0)  # padding and cropping shared too
    monkeypatch.setattr(direct_conv, "COPY_RUN", 0)
    parallel_out, planes = direct_conv.forward(x, weight, bias, pad)
    parallel_dw, parallel_dx = direct_conv.backward(planes, dy, weight, pad, x.shape[2:], True)
    monkeypatch.setattr(direct_conv, "PARALLEL_WORK", 1 << 62)
    monkeypatch.setattr(direct_conv, "PARALLEL_COMPILE", 1 << 62)
    monkeypatch.setattr(direct_conv, "COPY_WORK", 1 << 62)
    monkeypatch.setattr(direct_conv, "COPY_RUN", 1 << 62)
    serial_out, planes = direct_conv.forward(x, weight, bias, pad)
    serial_dw, serial_dx = direct_conv.backward(planes, dy, weight, pad, x.shape[2:], True)
    np.testing.assert_array_equal(parallel_out, serial_out)
    np.testing.assert_array_equal(parallel_dx, serial_dx)
    close(parallel_dw, serial_dw)


def routed(monkeypatch):
    """Records the calls conv makes to the direct tiles (forward, dx) and weight gradient."""
    calls = []
    for module in (direct_conv, strided_conv):
        for name in ("conv", "weight_grad"):
            real = getattr(module, name)
            monkeypatch.setattr(
                module, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k)
            )
    return calls


@pytest.mark.parametrize(
    ("stmt", "kwargs", "direct_path"),
    [
        ("conv 3x3/5 pad 1", dict(padding=1), True),
        ("conv 5x5/6", {}, True),
        ("conv 1x3/4 pad 0x1 nobias", dict(padding=(0, 1)), True),
        ("conv 3x3/6 stride 2 pad 1", dict(stride=2, padding=1), 4),  # dx: one conv a phase
        ("conv 1x1/5 stride 2", dict(stride=2), 1),
        ("conv 3x3/4 dilation 2 pad 2", dict(dilation=2, padding=2), False),
        ("conv 3x3/8 groups 2 pad 1", dict(groups=2, padding=1), False),
        ("conv 1x1/7", {}, False),
        ("conv 2x2/3 pad 3", dict(padding=3), False),
    ],
)
def test_conv_takes_the_direct_kernels_for_float32_without_groups_or_dilation(stmt, kwargs, direct_path, monkeypatch):
    """direct_path: False (GEMMs), True, or the input gradient's convs (one a phase) of a strided conv."""
    calls = routed(monkeypatch)
    torch_fn = lambda x, t: F.conv2d(x, t["weight"], t.get("bias"), **kwargs)  # noqa: E731
    torch_parity(stmt, torch_fn, "4x9x9")
    dx_convs = int(direct_path)
    assert calls == (["conv", "weight_grad", *["conv"] * dx_convs] if direct_path else [])
    monkeypatch.setattr(conv, "DIRECT", False)  # the GEMM path keeps its own float32 parity
    calls[:] = []
    torch_parity(stmt, torch_fn, "4x9x9")
    assert calls == []


def test_float64_convs_take_the_gemm_path(monkeypatch):
    from tests.kernel_check import gradcheck

    calls = routed(monkeypatch)
    gradcheck("conv 3x3/4 pad 1", "3x6x6")
    assert calls == []


@njit(cache=True)
def _dot_and_copy(a, b, out):
    """sum(a * b) over one vector, and out = a * 2 + b, through the vector intrinsics."""
    i = uint64(0)
    va, vb = vload(a, i), vload(b, i)
    vstore(out, i, vfma(vsplat(2.0), va, vb))
    return vsum(vfma(va, vb, vsplat(0.0)))


def test_vector_intrinsics_compute_lane_by_lane():
    a = np.arange(LANES, dtype=np.float32)
    b = np.linspace(-1, 1, LANES).astype(np.float32)
    out = np.zeros(LANES, dtype=np.float32)
    assert _dot_and_copy(a, b, out) == pytest.approx(float(a @ b), rel=1e-6)
    np.testing.assert_array_equal(out, a * 2 + b)


EIGHT_LANES = """
import llvmlite.binding as binding
features = binding.get_host_cpu_features()  # a FeatureMap: Numba's code generator reads it too
for name in [k for k in features if k.startswith("avx512")]:
    features[name] = False
binding.get_host_cpu_features = lambda: features
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from cnnc.backend.cpu import direct_conv, simd, strided_conv
assert simd.LANES == 8, simd.LANES
rng = np.random.default_rng(0)
for n, c, o, h, w, k, p in [(2, 3, 5, 7, 9, 3, 1), (2, 9, 11, 12, 10, 5, 2)]:
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    weight = rng.standard_normal((o, c, k, k), dtype=np.float32)
    out, planes = direct_conv.forward(x, weight, None, (p, p))
    windows = sliding_window_view(np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))).astype(np.float64), (k, k), axis=(2, 3))
    expected = np.einsum("nchwab,ocab->nohw", windows, weight)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    dw, _ = direct_conv.backward(planes, np.ones_like(out), weight, (p, p), (h, w), False)
    np.testing.assert_allclose(dw, windows.sum(axis=(0, 2, 3))[None].repeat(o, 0), rtol=1e-4, atol=1e-3)
    strided, _ = strided_conv.forward(x, weight, None, (2, 2), (p, p))
    np.testing.assert_allclose(strided, expected[:, :, ::2, ::2], rtol=1e-4, atol=1e-4 * np.abs(expected).max())
print("ok")
"""


def test_direct_kernels_with_eight_lanes_on_a_cpu_without_avx512(tmp_path):
    """Without AVX-512 the vectors have 8 lanes (tiles of 24 pixels): same results. Own Numba
    cache: the kernels bake LANES in, and a cache entry does not record it."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", EIGHT_LANES], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_small_maps_lie_side_by_side_sharing_their_pad_columns():
    """A "same" conv's image takes W + PW columns; up to 36 columns of images a row, as many as
    divide the batch. Other convs keep one image a plane, in rows of W + 2*PW."""
    from cnnc.backend.cpu.direct_conv import Packing, packing

    assert packing(64, 8, (1, 1), (3, 3)) == Packing(4, 9, 36)  # ResNet-20's 8x8 stage
    assert packing(64, 16, (1, 1), (3, 3)) == Packing(2, 17, 34)
    assert packing(64, 32, (1, 1), (3, 3)) == Packing(1, 33, 33)
    assert packing(1, 14, (1, 1), (3, 3)) == Packing(1, 15, 15)  # VGG-16 at batch 1
    assert packing(7, 8, (1, 1), (3, 3)) == Packing(1, 9, 9)  # no divisor of 7 from 2 to 4
    assert packing(6, 8, (2, 2), (5, 5)) == Packing(3, 10, 30)
    assert packing(2, 28, (0, 0), (5, 5)) == Packing(1, 0, 28)  # LeNet-5's valid 5x5


def test_shares_start_lower_once_their_parallel_wrapper_is_compiled(monkeypatch):
    """Compiling a parallel wrapper costs about 0.6 s: copies under COPY_WORK (tiles under
    PARALLEL_COMPILE) never compile it, but use it from COPY_RUN (PARALLEL_WORK) once larger
    work has."""

    class Wrapper:
        signatures: list = []

    monkeypatch.setattr(direct_conv, "get_num_threads", lambda: 2)
    work = (direct_conv.COPY_RUN + direct_conv.COPY_WORK) // 2
    assert direct_conv.copy_shares(work, Wrapper) == 1
    assert direct_conv.copy_shares(direct_conv.COPY_WORK, Wrapper) == 2
    Wrapper.signatures = ["compiled"]
    assert direct_conv.copy_shares(work, Wrapper) == 2
    assert direct_conv.copy_shares(direct_conv.COPY_RUN - 1, Wrapper) == 1
    Wrapper.signatures = []
    work = (direct_conv.PARALLEL_WORK + direct_conv.PARALLEL_COMPILE) // 2
    assert direct_conv.tile_shares(work, Wrapper) == 1
    assert direct_conv.tile_shares(direct_conv.PARALLEL_COMPILE, Wrapper) == 2
    Wrapper.signatures = ["compiled"]
    assert direct_conv.tile_shares(work, Wrapper) == 2

"""Strided convs on the direct kernels (cnnc.backend.cpu.strided_conv) against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from cnnc.backend.cpu import direct_conv, strided_conv

torch = pytest.importorskip("torch")
F = torch.nn.functional

# (N, C, O, H, W, KH, KW, SH, SW, PH, PW): ResNet's 3x3 and 1x1 stride-2 convs
# (the 1x1 reads one phase of four), odd sizes whose last rows no window reads,
# uneven strides and kernels, a stride wider than the kernel (phases no tap
# reads: zeros in dx), AlexNet's 11x11 stride 4 over 3 channels, more input
# channels than CHANNEL_PASS, and 1x1 outputs.
SHAPES = [
    (2, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1),
    (2, 16, 32, 32, 32, 1, 1, 2, 2, 0, 0),
    (3, 5, 7, 11, 13, 3, 3, 2, 2, 1, 1),
    (2, 3, 10, 23, 19, 5, 4, 3, 2, 2, 1),
    (1, 3, 9, 35, 35, 11, 11, 4, 4, 2, 2),
    (2, 4, 20, 9, 10, 2, 3, 2, 3, 1, 2),
    (2, 4, 5, 6, 6, 3, 3, 3, 3, 0, 2),
    (1, 70, 9, 9, 7, 3, 3, 2, 1, 1, 0),
    (3, 2, 3, 3, 3, 3, 3, 2, 2, 0, 0),
]


def strided_case(shape, seed=0):
    n, c, o, h, w, kh, kw, sh, sw, ph, pw = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    weight = rng.standard_normal((o, c, kh, kw), dtype=np.float32)
    bias = rng.standard_normal(o, dtype=np.float32)
    out_shape = (n, o, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
    return x, weight, bias, rng.standard_normal(out_shape, dtype=np.float32), (sh, sw), (ph, pw)


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_strided_conv_matches_torch_forward_and_backward(shape):
    x, weight, bias, dy, stride, pad = strided_case(shape)
    out, planes = strided_conv.forward(x, weight, bias, stride, pad)
    tx, tw = torch.from_numpy(x).requires_grad_(), torch.from_numpy(weight).requires_grad_()
    expected = F.conv2d(tx, tw, torch.from_numpy(bias), stride=stride, padding=pad)
    expected.backward(torch.from_numpy(dy))
    close(out, expected.detach().numpy())
    dw, dx = strided_conv.backward(planes, dy, weight, stride, pad, x.shape[2:], wants_dx=True)
    close(dw, tw.grad.numpy())
    close(dx, tx.grad.numpy())
    dw_only, none = strided_conv.backward(planes, dy, weight, stride, pad, x.shape[2:], wants_dx=False)
    assert none is None
    np.testing.assert_array_equal(dw_only, dw)


def test_phases_are_those_some_tap_reads():
    assert strided_conv.phase_slots((3, 3), (2, 2)).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert strided_conv.phase_slots((1, 1), (2, 2)).tolist() == [[0, 0]]
    assert strided_conv.phase_slots((2, 1), (3, 2)).tolist() == [[0, 0], [1, 0]]


@pytest.mark.parametrize("shape", [SHAPES[0], SHAPES[3]], ids=str)
def test_parallel_and_serial_shares_agree(shape, monkeypatch):
    """Phasing and unphasing are copies and the tiles split no sum: forward and dx are bit-equal
    on any thread count."""
    x, weight, bias, dy, stride, pad = strided_case(shape)
    results = []
    for threshold in (0, 1 << 62):
        monkeypatch.setattr(direct_conv, "PARALLEL_WORK", threshold)
        monkeypatch.setattr(direct_conv, "PARALLEL_COMPILE", threshold)
        monkeypatch.setattr(direct_conv, "COPY_WORK", threshold)  # padding, cropping, (un)phasing
        monkeypatch.setattr(direct_conv, "COPY_RUN", threshold)
        out, planes = strided_conv.forward(x, weight, bias, stride, pad)
        results.append((out, *strided_conv.backward(planes, dy, weight, stride, pad, x.shape[2:], True)))
    (out, dw, dx), (serial_out, serial_dw, serial_dx) = results
    np.testing.assert_array_equal(out, serial_out)
    np.testing.assert_array_equal(dx, serial_dx)
    close(dw, serial_dw)


def test_stride_1_and_strided_convs_share_one_compiled_kernel():
    """Their tap tables have one type (read-only uint64), so the tiles and the weight gradient
    compile once for both (each signature costs about a second of cold JIT)."""
    from cnnc.backend.cpu import direct

    for shape in (SHAPES[0], (2, 3, 4, 9, 9, 3, 3, 1, 1, 1, 1)):
        x, weight, bias, dy, stride, pad = strided_case(shape)
        module = direct_conv if stride == (1, 1) else strided_conv
        args = (pad,) if stride == (1, 1) else (stride, pad)
        out, planes = module.forward(x, weight, bias, *args)
        module.backward(planes, dy, weight, *args, x.shape[2:], True)
    assert len(direct.conv_share.signatures) == 1 and len(direct.weight_grad_share.signatures) == 1

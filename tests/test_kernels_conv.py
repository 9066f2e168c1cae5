"""CPU conv kernels: reference parity, finite differences and PyTorch parity for every conv case."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernel_check import check_forward, gradcheck, make, torch_parity

F = pytest.importorskip("torch.nn.functional")

# (statement, input CxHxW, torch.nn.functional.conv2d keyword arguments)
CASES = {
    "plain": ("conv 3x3/5", "4x9x9", {}),
    "padded": ("conv 3x3/6 pad 1", "4x9x9", dict(padding=1)),
    "strided": ("conv 3x3/6 stride 2 pad 1", "4x9x9", dict(stride=2, padding=1)),
    "rectangle": ("conv 1x5/6 stride 2x1 pad 0x2", "3x8x9", dict(stride=(2, 1), padding=(0, 2))),
    "dilated": ("conv 3x3/4 dilation 2 pad 2", "3x9x8", dict(dilation=2, padding=2)),
    "dilated_rectangle": ("conv 2x3/4 dilation 2x1 stride 1x2", "3x9x10", dict(dilation=(2, 1), stride=(1, 2))),
    "grouped_nobias": ("conv 3x3/8 groups 2 pad 1 nobias", "4x7x7", dict(groups=2, padding=1)),
    "depthwise": ("conv 3x3/4 groups 4 pad 1", "4x9x9", dict(groups=4, padding=1)),
    "depthwise_multiplier": ("conv 3x3/8 groups 4 stride 2 pad 1", "4x9x8", dict(groups=4, stride=2, padding=1)),
    "depthwise_dilated_nobias": (
        "conv 3x3/3 groups 3 dilation 2 pad 1 nobias",
        "3x9x9",
        dict(groups=3, dilation=2, padding=1),
    ),  # fmt: skip
    "pointwise": ("conv 1x1/7", "5x6x6", {}),
    "pointwise_grouped": ("conv 1x1/6 groups 3 nobias", "6x5x5", dict(groups=3)),
    "pointwise_strided": ("conv 1x1/4 stride 2", "3x7x7", dict(stride=2)),
    "pad_beyond_kernel": ("conv 2x2/3 pad 3", "2x4x4", dict(padding=3)),
    "kernel_covers_input": ("conv 5x5/3 stride 3", "2x5x5", dict(stride=3)),
}


def _torch_conv(kwargs):
    return lambda x, t: F.conv2d(x, t["weight"], t.get("bias"), **kwargs)


@pytest.mark.parametrize("case", CASES)
def test_conv_forward_matches_reference(case):
    stmt, shape, _ = CASES[case]
    check_forward(stmt, shape)


@pytest.mark.parametrize("case", CASES)
def test_conv_gradients_match_finite_differences(case):
    stmt, shape, _ = CASES[case]
    gradcheck(stmt, shape)


@pytest.mark.parametrize("case", CASES)
def test_conv_matches_torch_forward_and_backward(case):
    stmt, shape, kwargs = CASES[case]
    torch_parity(stmt, _torch_conv(kwargs), shape)


@pytest.mark.parametrize("case", ["padded", "strided", "grouped_nobias", "pointwise", "pointwise_grouped"])
def test_conv_one_image_per_chunk_writes_in_place(case, monkeypatch):
    """A chunk of one image takes other paths (output in place, 1x1 without columns)."""
    from cnnc.backend.cpu import conv

    monkeypatch.setattr(conv, "COLUMN_BUDGET", 1)
    stmt, shape, kwargs = CASES[case]
    check_forward(stmt, shape, batch=3)
    gradcheck(stmt, shape, batch=3)
    torch_parity(stmt, _torch_conv(kwargs), shape, batch=3)


@pytest.mark.parametrize(
    ("stmt", "shape", "batch", "kwargs"),
    [
        ("conv 3x3/48 pad 1", "32x24x24", 6, dict(padding=1)),  # several column chunks, both threads busy
        ("conv 3x3/32 groups 32 stride 2 pad 1", "32x24x24", 6, dict(groups=32, stride=2, padding=1)),
        ("conv 1x1/40", "32x24x24", 6, {}),
    ],
)
def test_conv_large_enough_for_gemm_chunks_and_parallel_loops(stmt, shape, batch, kwargs, monkeypatch):
    from cnnc.backend.cpu import conv

    monkeypatch.setattr(conv, "COLUMN_BUDGET", 32 * 9 * 24 * 24 * 2)  # two images a chunk
    check_forward(stmt, shape, batch=batch, rtol=1e-9)
    # The weight gradient sums 3456 float32 products into values of about 50:
    # both sides round at ~1e-4 absolute, so atol is scaled to that size.
    torch_parity(stmt, _torch_conv(kwargs), shape, batch=batch, atol=1e-3)


@pytest.mark.parametrize(
    ("stmt", "shape"),
    [("conv 3x3/4 pad 1", "3x20x20"), ("conv 5x5/6 stride 2 pad 2", "2x21x17"),
     ("conv 3x3/8 groups 2 pad 1", "4x19x19"), ("conv 3x3/4 dilation 2 pad 2", "3x20x20")],
)  # fmt: skip
def test_an_image_too_big_for_the_column_budget_runs_by_row_blocks(stmt, shape, monkeypatch):
    """One image whose columns exceed COLUMN_BUDGET is convolved a block of output rows at a time."""
    from cnnc.backend.cpu import conv
    from cnnc.runtime.reference import run_reference

    graph, net, weights, x = make(stmt, shape, 1, "float64")
    whole = net(x)
    monkeypatch.setattr(conv, "COLUMN_BUDGET", 100)  # one output row per block
    calls = []
    real = conv.forward_by_rows
    monkeypatch.setattr(conv, "forward_by_rows", lambda *a: calls.append(1) or real(*a))
    by_rows = net(x)
    assert calls == [1]
    np.testing.assert_array_equal(by_rows, whole)
    np.testing.assert_allclose(by_rows, run_reference(graph, x, weights), rtol=1e-10, atol=1e-12)


def test_kept_columns_give_the_gradients_of_recomputed_ones(monkeypatch):
    """Training keeps each chunk's columns for backward (KEEP_COLUMNS) or recomputes them: same numbers,
    and with keeping backward builds no columns at all."""
    from cnnc.backend.cpu import conv

    # columns per image: 432 (conv1) and 576 (conv2), so chunks of 2 and of 1 image
    monkeypatch.setattr(conv, "COLUMN_BUDGET", 1000)
    real, built = conv.columns, []
    monkeypatch.setattr(conv, "columns", lambda *a: built.append(1) or real(*a))
    results = []
    for keep in (1 << 22, 0):
        monkeypatch.setattr(conv, "KEEP_COLUMNS", keep)
        graph, net, _, x = make("conv 3x3/4 stride 2 pad 1; relu; conv 3x3/5 pad 1", "3x8x8", 6, "float64")
        y = net(x, training=True)
        forward, built[:] = len(built), []
        dx = net.backward(np.random.default_rng(2).normal(size=y.shape))
        results.append((dx, {f"{k}.{n}": g.copy() for k, t in net.grads.items() for n, g in t.items()}))
        assert (forward, len(built)) == ((3 + 6, 0) if keep else (3 + 6, 3 + 6))
        built[:] = []
    np.testing.assert_array_equal(results[0][0], results[1][0])
    for key, g in results[0][1].items():
        np.testing.assert_array_equal(g, results[1][1][key], err_msg=key)

"""CPU pool kernels: reference parity, finite differences and PyTorch parity for every pool case."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernel_check import check_forward, gradcheck, make, torch_parity

F = pytest.importorskip("torch.nn.functional")

# (statement, input CxHxW, the torch.nn.functional equivalent)
CASES = {
    "max": ("pool max 2x2", "3x8x8", lambda x, t: F.max_pool2d(x, 2)),
    "max_padded": ("pool max 3x3 stride 2 pad 1", "3x9x9", lambda x, t: F.max_pool2d(x, 3, 2, 1)),
    "max_ceil": ("pool max 3x3 stride 2 ceil", "3x8x8", lambda x, t: F.max_pool2d(x, 3, 2, ceil_mode=True)),
    "max_padded_ceil": (
        "pool max 2x2 stride 2 pad 1 ceil",
        "2x7x6",
        lambda x, t: F.max_pool2d(x, 2, 2, 1, ceil_mode=True),
    ),  # fmt: skip
    "max_rectangle": ("pool max 3x2 stride 1x2", "2x7x8", lambda x, t: F.max_pool2d(x, (3, 2), (1, 2))),
    "avg": ("pool avg 2x2", "3x8x8", lambda x, t: F.avg_pool2d(x, 2)),
    "avg_padded": (
        "pool avg 3x3 stride 2 pad 1",
        "3x9x9",
        lambda x, t: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    ),  # fmt: skip
    "avg_ceil": (
        "pool avg 3x3 stride 2 ceil",
        "3x8x8",
        lambda x, t: F.avg_pool2d(x, 3, 2, ceil_mode=True, count_include_pad=False),
    ),  # fmt: skip
    "avg_padded_ceil": (
        "pool avg 2x2 stride 2 pad 1 ceil",
        "2x7x6",
        lambda x, t: F.avg_pool2d(x, 2, 2, 1, ceil_mode=True, count_include_pad=False),
    ),  # fmt: skip
    "avg_rectangle": ("pool avg 2x3 stride 1x2", "3x7x9", lambda x, t: F.avg_pool2d(x, (2, 3), (1, 2))),
    "l2": ("pool l2 3x3 stride 2", "3x9x9", lambda x, t: F.lp_pool2d(x, 2, 3, 2)),
    "l2_rectangle": ("pool l2 2x3 stride 2x1", "2x8x7", lambda x, t: F.lp_pool2d(x, 2, (2, 3), (2, 1))),
    "max_global": ("pool max global", "3x5x6", lambda x, t: F.adaptive_max_pool2d(x, 1)),
    "avg_global": ("pool avg global", "3x5x6", lambda x, t: F.adaptive_avg_pool2d(x, 1)),
    "l2_global": ("pool l2 global", "3x5x6", lambda x, t: F.lp_pool2d(x, 2, (5, 6))),
}
# PyTorch has no padded or ceil-mode L2 pool: these are checked against the reference only.
REFERENCE_ONLY = {
    "l2_padded": ("pool l2 3x3 stride 2 pad 1", "3x9x9"),
    "l2_ceil": ("pool l2 2 ceil", "3x7x7"),
}


@pytest.mark.parametrize("case", [*CASES, *REFERENCE_ONLY])
def test_pool_forward_matches_reference(case):
    stmt, shape = (CASES.get(case) or REFERENCE_ONLY[case])[:2]
    check_forward(stmt, shape)


@pytest.mark.parametrize("case", [*CASES, *REFERENCE_ONLY])
def test_pool_gradients_match_finite_differences(case):
    stmt, shape = (CASES.get(case) or REFERENCE_ONLY[case])[:2]
    gradcheck(stmt, shape)


@pytest.mark.parametrize("case", CASES)
def test_pool_matches_torch_forward_and_backward(case):
    stmt, shape, fn = CASES[case]
    torch_parity(stmt, fn, shape)


def test_pool_window_wholly_in_padding_matches_reference():
    """pad >= kernel: a window may hold no input at all (max -inf, avg 0/0 as the reference)."""
    for mode in ("max", "avg", "l2"):
        with np.errstate(invalid="ignore"):
            check_forward(f"pool {mode} 2x2 stride 2 pad 2", "2x4x4", rtol=1e-12)


def test_max_pool_gradient_goes_to_the_first_of_equal_maxima():
    graph, net, _, _ = make("pool max 2x2", "1x2x2", 1, "float64")
    net(np.ones((1, 1, 2, 2)), training=True)
    np.testing.assert_array_equal(net.backward(np.ones((1, 1, 1, 1))), [[[[1, 0], [0, 0]]]])


def test_max_pool_propagates_nan():
    graph, net, _, _ = make("pool max 2x2", "1x2x4", 1, "float32")
    y = net(np.array([[[[1, np.nan, 5, 2], [3, 4, 1, 1]]]], dtype=np.float32))
    assert np.isnan(y[0, 0, 0, 0]) and y[0, 0, 0, 1] == 5


@pytest.mark.parametrize("mode", ["max", "avg", "l2"])
def test_pool_large_enough_for_parallel_planes(mode):
    fn = {"max": lambda x, t: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
          "avg": lambda x, t: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
          "l2": lambda x, t: F.lp_pool2d(x, 2, 3, 2, ceil_mode=True)}[mode]  # fmt: skip
    stmt = f"pool {mode} 3x3 stride 2 {'pad 1 ' if mode != 'l2' else ''}ceil"
    check_forward(stmt, "24x33x33", batch=4)
    torch_parity(stmt, fn, "24x33x33", batch=4)


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 2, 7, 9), (3, 1, 2, 2)])
def test_the_2x2_kernels_equal_the_general_loops_bit_for_bit(shape):
    """pool_2x2.py's branch-free kernels give the general loops' values and argmax exactly,
    NaN, ties and all -inf windows included."""
    from cnnc.backend.cpu.pool_2x2 import avg_pool_2x2, avg_pool_2x2_backward, max_pool_2x2
    from cnnc.backend.cpu.pool_loops import max_pool_forward, sum_pool_backward, sum_pool_forward

    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, size=shape).astype(np.float32)  # many ties
    x.reshape(-1)[::7] = np.nan
    x[0, 0, :2, :2] = -np.inf
    out_shape = (*shape[:2], shape[2] // 2, shape[3] // 2)
    general, fast = np.empty(out_shape, np.float32), np.empty(out_shape, np.float32)
    general_at, fast_at = np.empty(out_shape, np.int64), np.empty(out_shape, np.int64)
    max_pool_forward(x, general, general_at, 2, 2, 2, 2, 0, 0)
    max_pool_2x2(x, fast, fast_at)
    np.testing.assert_array_equal(fast, general)
    np.testing.assert_array_equal(fast_at, general_at)
    sum_pool_forward(x, general, False, 2, 2, 2, 2, 0, 0)
    avg_pool_2x2(x, fast)
    np.testing.assert_array_equal(fast, general)
    dy = rng.normal(size=out_shape).astype(np.float32)
    general_dx, fast_dx = np.full_like(x, 7), np.full_like(x, 7)  # both must overwrite everything
    sum_pool_backward(dy, x, general, general_dx, False, 2, 2, 2, 2, 0, 0)
    avg_pool_2x2_backward(dy, fast_dx)
    np.testing.assert_array_equal(fast_dx, general_dx)


@pytest.mark.parametrize("stmt", ["pool avg 3x3 stride 1 pad 1", "pool l2 2x2 stride 1", "pool avg 2x2"])
def test_a_nan_spoils_only_the_windows_that_hold_it(stmt):
    """A NaN in the top-left pixel once made every window of its plane NaN (the sum started from it)."""
    from cnnc.runtime.reference import run_reference

    graph, net, weights, x = make(stmt, "2x6x6", 1, "float64")
    x[0, 0, 0, 0] = np.nan
    y, expected = net(x), run_reference(graph, x, weights)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    assert np.isnan(y).sum() < y[0, 0].size
    np.testing.assert_allclose(y, expected, rtol=1e-12)

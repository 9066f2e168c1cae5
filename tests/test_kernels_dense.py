"""CPU fc and flatten kernels: reference parity, finite differences and PyTorch parity."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernel_check import check_forward, gradcheck, make, torch_parity

F = pytest.importorskip("torch.nn.functional")

CASES = {
    "fc_on_feature_map": ("fc 7", "3x4x5", lambda x, t: F.linear(x.flatten(1), t["weight"], t["bias"])),
    "fc_nobias": ("fc 5 nobias", "3x4x4", lambda x, t: F.linear(x.flatten(1), t["weight"])),
    "fc_on_vector": ("flatten; fc 6", "12x1x1", None),
    "flatten": ("flatten", "3x4x5", lambda x, t: x.flatten(1)),
}


@pytest.mark.parametrize("case", CASES)
def test_dense_forward_matches_reference(case):
    stmt, shape, _ = CASES[case]
    check_forward(stmt, shape)


@pytest.mark.parametrize("case", CASES)
def test_dense_gradients_match_finite_differences(case):
    stmt, shape, _ = CASES[case]
    gradcheck(stmt, shape)


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][2] is not None])
def test_dense_matches_torch_forward_and_backward(case):
    stmt, shape, fn = CASES[case]
    torch_parity(stmt, fn, shape)


def test_flatten_is_a_view_without_copy():
    _, net, _, x = make("flatten", "3x4x5", 2, "float32")
    x = np.ascontiguousarray(x, dtype=np.float32)
    assert np.shares_memory(net(x), x)


def test_fc_large_batch_matches_torch():
    fn = lambda x, t: F.linear(x.flatten(1), t["weight"], t["bias"])  # noqa: E731
    check_forward("fc 64", "16x8x8", batch=32, rtol=1e-9)
    torch_parity("fc 64", fn, "16x8x8", batch=32, atol=1e-4)

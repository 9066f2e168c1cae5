"""CPU kernels of batch norm and local response norm."""

import numpy as np
import pytest

import cnnc
from cnnc.runtime.reference import run_reference
from tests.kernel_check import check_forward, gradcheck, make, torch_parity

BN = ["bn", "bn eps 1e-3 momentum 0.2"]
LRN = ["lrn 5 alpha 1e-2 beta 0.75 k 2", "lrn 4", "lrn 3 alpha 0.5 beta 1.5"]


def torch_bn(momentum=0.1, eps=1e-5, training=True):
    F = pytest.importorskip("torch").nn.functional

    def run(x, t):
        # torch updates the running stats of the tensors it is given: pass copies
        mean, var = t["running_mean"].clone(), t["running_var"].clone()
        return F.batch_norm(x, mean, var, t["scale"], t["shift"], training=training, momentum=momentum, eps=eps)

    return run


def torch_lrn(size, alpha=1e-4, beta=0.75, k=1.0):
    F = pytest.importorskip("torch").nn.functional
    return lambda x, t: F.local_response_norm(x, size, alpha, beta, k)


@pytest.mark.parametrize("stmt", BN)
@pytest.mark.parametrize("shape", ["4x5x5", "6"])
@pytest.mark.parametrize("training", [False, True])
def test_bn_forward_equals_reference(stmt, shape, training):
    check_forward(stmt, shape, batch=3, training=training)


@pytest.mark.parametrize("shape", ["3x4x4", "5"])
def test_bn_gradients_through_batch_statistics(shape):
    gradcheck("bn eps 1e-3", shape, batch=3)


@pytest.mark.parametrize("shape", ["4x9x9", "6"])
def test_bn_float32_matches_torch_in_training(shape):
    torch_parity("bn", torch_bn(), input_shape=shape, batch=4)


def test_bn_float32_matches_torch_with_momentum_and_eps():
    torch_parity("bn eps 1e-3 momentum 0.2", torch_bn(0.2, 1e-3), batch=3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bn_updates_running_stats_as_the_reference(dtype):
    graph, compiled, weights, x = make("bn momentum 0.3", "3x4x4", 5, dtype)
    compiled(x, training=True)
    run_reference(graph, x, weights, training=True)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(compiled.tensors["bn1"][name], weights["bn1"][name], rtol=1e-6)
    assert compiled.tensors["bn1"]["running_var"].dtype == np.dtype(dtype)


def test_bn_running_var_is_unbiased_as_torch():
    torch = pytest.importorskip("torch")
    graph, compiled, weights, x = make("bn", "2x3x3", 4, "float64")
    compiled(x, training=True)
    mean, var = (torch.from_numpy(weights["bn1"][k].copy()) for k in ("running_mean", "running_var"))
    t = {k: torch.from_numpy(v) for k, v in weights["bn1"].items()}
    torch.nn.functional.batch_norm(torch.from_numpy(x), mean, var, t["scale"], t["shift"], training=True)
    np.testing.assert_allclose(compiled.tensors["bn1"]["running_mean"], mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(compiled.tensors["bn1"]["running_var"], var.numpy(), rtol=1e-12)


def test_bn_inference_uses_running_stats_and_leaves_them():
    graph, compiled, weights, x = make("bn", "3x4x4", 2, "float64")
    before = {k: v.copy() for k, v in compiled.tensors["bn1"].items()}
    y = compiled(x)
    for name, value in before.items():
        np.testing.assert_array_equal(compiled.tensors["bn1"][name], value)
    np.testing.assert_allclose(y, run_reference(graph, x, weights), rtol=1e-12)


def test_bn_of_a_single_position_per_channel_keeps_the_running_var_finite():
    compiled = cnnc.compile(make("bn", "3", 1, "float64")[0], opt=0, dtype="float64")
    compiled(np.ones((1, 3)), training=True)
    assert np.isfinite(compiled.tensors["bn1"]["running_var"]).all()


@pytest.mark.parametrize("stmt", LRN)
@pytest.mark.parametrize("shape", ["7x5x5", "2x3x3"])
def test_lrn_forward_equals_reference(stmt, shape):
    check_forward(stmt, shape)


@pytest.mark.parametrize("stmt", LRN)
def test_lrn_gradients_match_finite_differences(stmt):
    gradcheck(stmt, "6x4x4")


@pytest.mark.parametrize(
    ("stmt", "fn"),
    [
        ("lrn 5 alpha 1e-2 beta 0.75 k 2", torch_lrn(5, 1e-2, 0.75, 2.0)),
        ("lrn 4", torch_lrn(4)),
        ("lrn 3 alpha 0.5 beta 1.5", torch_lrn(3, 0.5, 1.5)),
    ],
)
def test_lrn_float32_matches_torch(stmt, fn):
    torch_parity(stmt, fn, input_shape="7x6x6")


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
def test_lrn_backward_window_holds_exactly_the_windows_containing_a_channel(size):
    from cnnc.backend.indexing import channel_window

    channels = 7
    for j in range(channels):
        lo, hi = channel_window(j, (size - 1) // 2, size // 2, channels)
        holding = [c for c in range(channels) if j in range(*channel_window(c, size // 2, (size - 1) // 2, channels))]
        assert list(range(lo, hi)) == holding

"""CPU kernels of the activations, PReLU, maxout, softmax, dropout and identity."""

import numpy as np
import pytest

import cnnc
from tests.conftest import net
from tests.kernel_check import check_forward, gradcheck, torch_parity

ACTIVATIONS = [
    ("relu", "relu"),
    ("relu6", "relu6"),
    ("sigmoid", "sigmoid"),
    ("tanh", "tanh"),
    ("selu", "selu"),
    ("leaky_relu", "leaky_relu"),
    ("leaky_relu 0.2", "leaky_relu_02"),
    ("elu", "elu"),
    ("elu 0.5", "elu_05"),
    ("prelu", "prelu"),
    ("maxout 2", "maxout"),
    ("softmax", "softmax"),
    ("identity", "identity"),
]
STATEMENTS = [stmt for stmt, _ in ACTIVATIONS]


def torch_function(key):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    return {
        "relu": lambda x, t: F.relu(x),
        "relu6": lambda x, t: F.relu6(x),
        "sigmoid": lambda x, t: torch.sigmoid(x),
        "tanh": lambda x, t: torch.tanh(x),
        "selu": lambda x, t: F.selu(x),
        "leaky_relu": lambda x, t: F.leaky_relu(x),
        "leaky_relu_02": lambda x, t: F.leaky_relu(x, 0.2),
        "elu": lambda x, t: F.elu(x),
        "elu_05": lambda x, t: F.elu(x, 0.5),
        "prelu": lambda x, t: F.prelu(x, t["slope"]),
        "maxout": lambda x, t: x.reshape(x.shape[0], x.shape[1] // 2, 2, *x.shape[2:]).max(dim=2).values,
        "softmax": lambda x, t: F.softmax(x, dim=1),
        "identity": lambda x, t: x,
    }[key]


@pytest.mark.parametrize("stmt", STATEMENTS)
@pytest.mark.parametrize("shape", ["4x9x9", "6"])
def test_activation_forward_equals_reference(stmt, shape):
    check_forward(stmt, shape, batch=3)


@pytest.mark.parametrize("stmt", STATEMENTS)
def test_activation_gradients_match_finite_differences(stmt):
    gradcheck(stmt, "4x5x5")


@pytest.mark.parametrize(("stmt", "key"), ACTIVATIONS)
def test_activation_float32_matches_torch_forward_and_backward(stmt, key):
    torch_parity(stmt, torch_function(key))


def test_prelu_slope_gradient_on_vectors_matches_torch():
    torch_parity("prelu", torch_function("prelu"), input_shape="7", batch=5)


def test_softmax_on_vectors_and_large_maps_uses_every_block():
    check_forward("softmax", "10", batch=4)
    check_forward("softmax", "3x40x40", batch=2)  # 1600 positions: two blocks an image
    gradcheck("softmax", "3x40x40", batch=1)


def test_activations_propagate_nan_as_numpy():
    for stmt in ("relu", "relu6", "elu", "maxout 2", "softmax"):
        compiled = cnnc.compile(net(stmt, "2x1x2"), opt=0, dtype="float64")
        x = np.array([[[[np.nan, 1.0]], [[0.5, 2.0]]]])
        assert np.isnan(compiled(x)[0, 0, 0, 0]), stmt


def dropout_net(p=0.3, shape="1x100x100", dtype="float64"):
    return cnnc.compile(net(f"dropout {p}", shape), opt=0, dtype=dtype, seed=7)


@pytest.mark.parametrize("training", [False, True])
def test_dropout_forward_equals_reference_mask(training):
    check_forward("dropout 0.4", training=training)


def test_dropout_gradient_matches_finite_differences_with_its_mask():
    gradcheck("dropout 0.4")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_keeps_one_minus_p_scaled_and_backward_uses_the_mask(dtype):
    compiled = dropout_net(dtype=dtype)
    x = np.ones((4, 1, 100, 100))
    y = compiled(x, training=True)
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    grad = compiled.backward(np.full_like(y, 2.0))
    np.testing.assert_allclose(grad, np.where(kept, 2 / 0.7, 0), rtol=1e-6)
    assert y.dtype == grad.dtype == np.dtype(dtype)


def test_dropout_is_the_identity_in_inference_and_for_p_zero():
    x = np.random.default_rng(0).normal(size=(2, 1, 100, 100))
    np.testing.assert_array_equal(dropout_net()(x), x)
    compiled = dropout_net(p=0.0)
    np.testing.assert_array_equal(compiled(x, training=True), x)
    np.testing.assert_array_equal(compiled.backward(x), x)


def test_dropout_float32_matches_torch_given_the_reference_mask():
    torch = pytest.importorskip("torch")
    compiled = dropout_net(p=0.4, shape="3x8x8", dtype="float32")
    x = np.random.default_rng(1).normal(size=(2, 3, 8, 8)).astype(np.float32)
    y = compiled(x, training=True)
    r = np.random.default_rng(2).normal(size=y.shape).astype(np.float32)
    dx = compiled.backward(r)
    keep = torch.from_numpy(np.random.default_rng(7).random(x.shape) >= 0.4)  # the Net's rng, seed 7
    tx = torch.tensor(x, requires_grad=True)
    ty = tx * keep / (1 - 0.4)
    ty.backward(torch.from_numpy(r))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-4, atol=1e-6)

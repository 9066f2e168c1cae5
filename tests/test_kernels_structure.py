"""CPU kernels of concat, residual add and flatten (dense.py's), and a small whole net through them all."""

import numpy as np
import pytest

import cnnc
from tests.conftest import net
from tests.kernel_check import check_forward, gradcheck, torch_parity

STATEMENTS = {
    "concat": "concat { branch { relu }; branch { tanh }; identity }",
    "residual": "residual { tanh }",
    "residual_shortcut": "residual { relu } shortcut { sigmoid }",
    "flatten": "flatten",
}
NEEDS = {"flatten": ["flatten"]}  # flatten's kernel is dense.py's


def needs_kernels(*ops):
    from cnnc.backend.cpu.registry import load_all

    missing = [op for op in ops if op not in load_all()]
    if missing:
        pytest.skip(f"no CPU kernel yet for {', '.join(missing)} (written by another change)")


def torch_function(key):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    return {
        "concat": lambda x, t: torch.cat([F.relu(x), torch.tanh(x), x], dim=1),
        "residual": lambda x, t: torch.tanh(x) + x,
        "residual_shortcut": lambda x, t: F.relu(x) + torch.sigmoid(x),
        "flatten": lambda x, t: x.flatten(1),
    }[key]


@pytest.mark.parametrize("key", STATEMENTS)
def test_structure_forward_equals_reference(key):
    needs_kernels(*NEEDS.get(key, ()))
    check_forward(STATEMENTS[key])


@pytest.mark.parametrize("key", STATEMENTS)
def test_structure_gradients_match_finite_differences(key):
    needs_kernels(*NEEDS.get(key, ()))
    gradcheck(STATEMENTS[key])


@pytest.mark.parametrize("key", STATEMENTS)
def test_structure_float32_matches_torch(key):
    needs_kernels(*NEEDS.get(key, ()))
    torch_parity(STATEMENTS[key], torch_function(key))


def test_concat_of_vectors_and_flatten_then_softmax():
    check_forward("concat { branch { relu }; identity }", "5", batch=3)
    needs_kernels("flatten")
    gradcheck("flatten; softmax", "2x3x3")
    torch_parity("flatten; softmax", lambda x, t: x.flatten(1).softmax(dim=1), input_shape="2x3x3")


def test_residual_backward_sums_both_paths_into_the_input():
    compiled = cnnc.compile(net("residual { identity }", "2x3x3"), opt=0, dtype="float64")
    x = np.random.default_rng(0).normal(size=(2, 2, 3, 3))
    np.testing.assert_array_equal(compiled(x, training=True), 2 * x)
    np.testing.assert_array_equal(compiled.backward(np.ones_like(x)), np.full_like(x, 2.0))


WHOLE_NET = """
conv 3x3/4 pad 1; bn; relu
concat { branch { conv 1x1/4 }; branch { conv 3x3/4 pad 1; prelu } }
residual { conv 3x3/8 pad 1; bn }
relu; dropout 0.3; fc 10; softmax
"""


@pytest.mark.parametrize("training", [False, True])
def test_small_net_forward_equals_reference(training):
    needs_kernels("conv", "fc")
    check_forward(WHOLE_NET, "3x6x6", batch=3, training=training)


def test_small_net_gradients_match_finite_differences():
    needs_kernels("conv", "fc")
    gradcheck(WHOLE_NET, "3x6x6", batch=3, samples=6)

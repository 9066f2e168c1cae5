"""CPU kernels of the fused ops (conv/fc/bn + bias + residual + activation) and slices.

The shared checks of kernel_check run on graphs the fusion passes rewrote:
``make`` is swapped for one that runs fuse_vertical and fuse_horizontal first.
"""

import numpy as np
import pytest

import cnnc
from cnnc.passes import run_passes
from cnnc.runtime.reference import run_reference
from tests import kernel_check
from tests.kernel_check import check_forward, gradcheck, torch_parity

FUSIONS = ("fuse_vertical", "fuse_horizontal")
original_make = kernel_check.make


def fused_make(stmt, input_shape, batch, dtype, seed=0):
    graph, _, weights, x = original_make(stmt, input_shape, batch, dtype, seed)
    graph.weights = {k: {n: a.copy() for n, a in t.items()} for k, t in weights.items()}
    run_passes(graph, only=FUSIONS)
    reference_weights = {k: {n: a.copy() for n, a in t.items()} for k, t in graph.weights.items()}
    compiled = cnnc.compile(graph, opt=0, dtype=dtype, weights=graph.weights, seed=seed)
    return graph, compiled, reference_weights, x


@pytest.fixture(autouse=True)
def fused_graphs(monkeypatch):
    from cnnc.backend.cpu.registry import load_all

    missing = [op for op in ("conv", "fc") if op not in load_all()]
    if missing:
        pytest.skip(f"no CPU kernel yet for {', '.join(missing)} (written by another change)")
    monkeypatch.setattr(kernel_check, "make", fused_make)


def torch_fns():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    conv = lambda x, t: F.conv2d(x, t["weight"], t.get("bias"), padding=1)  # noqa: E731
    return torch, F, conv


CASES = {
    "conv_relu": ("conv 3x3/4 pad 1; relu", lambda T, F, conv: lambda x, t: F.relu(conv(x, t))),
    "conv_nobias_elu": ("conv 3x3/4 pad 1 nobias; elu 0.5", lambda T, F, conv: lambda x, t: F.elu(conv(x, t), 0.5)),
    "conv_add_relu6": ("residual { conv 3x3/4 pad 1 }; relu6", lambda T, F, conv: lambda x, t: F.relu6(conv(x, t) + x)),
    "conv_add": ("residual { conv 3x3/4 pad 1 }", lambda T, F, conv: lambda x, t: conv(x, t) + x),
    "fc_tanh": ("fc 6; tanh", lambda T, F, conv: lambda x, t: T.tanh(F.linear(x.flatten(1), t["weight"], t["bias"]))),
    "fc_selu": ("fc 5 nobias; selu", lambda T, F, conv: lambda x, t: F.selu(F.linear(x.flatten(1), t["weight"]))),
    "bn_relu": ("bn; relu", lambda T, F, conv: lambda x, t: F.relu(batch_norm(F, x, t))),
    "bn_add_relu": ("residual { bn }; relu", lambda T, F, conv: lambda x, t: F.relu(batch_norm(F, x, t) + x)),
    "bn_add": ("residual { bn }", lambda T, F, conv: lambda x, t: batch_norm(F, x, t) + x),
}


def batch_norm(F, x, t):
    """Training BN as the net runs it in torch_parity (batch statistics, running ones updated)."""
    return F.batch_norm(x, t["running_mean"], t["running_var"], t["scale"], t["shift"], True, 0.1, 1e-5)


def test_the_cases_are_fused():
    for stmt, _ in CASES.values():
        graph = fused_make(stmt, "4x5x5", 1, "float64")[0]
        assert graph.output.op in ("fused_conv", "fused_fc", "fused_bn"), stmt


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("training", [False, True])
def test_fused_forward_equals_reference(case, training):
    check_forward(CASES[case][0], "4x5x5", training=training)


@pytest.mark.parametrize("case", CASES)
def test_fused_gradients_match_finite_differences(case):
    gradcheck(CASES[case][0], "4x5x5", samples=8)


@pytest.mark.parametrize("case", CASES)
def test_fused_float32_matches_torch(case):
    stmt, fn = CASES[case]
    torch_parity(stmt, fn(*torch_fns()), input_shape="4x5x5")


def test_bn_after_an_fc_fuses_its_relu_on_vectors():
    stmt = "fc 6; bn; relu"
    assert fused_make(stmt, "4x5x5", 1, "float64")[0].output.op == "fused_bn"
    for training in (False, True):
        check_forward(stmt, "4x5x5", batch=3, training=training)
    gradcheck(stmt, "4x5x5", batch=3, samples=8)


def test_bn_fuses_relu_only():
    """Other activations stay nodes of their own: BN's loop applies ReLU alone."""
    graph = fused_make("bn; tanh", "4x5x5", 1, "float64")[0]
    assert [node.op for node in graph.nodes[1:]] == ["bn", "tanh"]


INCEPTION = (
    "concat { branch { conv 1x1/4; relu }; branch { conv 1x1/6; relu; conv 3x3/4 pad 1 }; branch { conv 1x1/2; relu } }"
)


def test_inception_head_is_stacked_into_slices():
    graph = fused_make(INCEPTION, "5x6x6", 1, "float64")[0]
    assert sum(node.op == "slice" for node in graph.nodes) == 3


@pytest.mark.parametrize("training", [False, True])
def test_slices_of_a_stacked_conv_equal_the_reference(training):
    check_forward(INCEPTION, "5x6x6", batch=3, training=training)


def test_slices_of_a_stacked_conv_pass_gradients_back():
    gradcheck(INCEPTION, "5x6x6", batch=2, samples=8)


def test_whole_net_at_O2_equals_the_unoptimised_reference():
    graph, _, weights, x = original_make(
        "conv 3x3/6 pad 1; bn; relu; " + INCEPTION + "; residual { conv 3x3/10 pad 1; bn }; relu; fc 7; tanh; fc 5; softmax",
        "5x6x6", 3, "float64",
    )  # fmt: skip
    expected = run_reference(graph, x, weights)
    compiled = cnnc.compile(graph, opt=2, dtype="float64", weights=weights)
    assert {"fused_conv", "fused_fc", "slice"} <= {node.op for node in compiled.graph.nodes}
    np.testing.assert_allclose(compiled(x), expected, rtol=1e-9, atol=1e-12)

"""Whole networks on the CPU backend equal PyTorch on the same weights, forward and backward."""

import numpy as np
import pytest

import cnnc
from cnnc.runtime.weights import init_weights
from tests.conftest import ROOT, compile_text
from tests.conftest import net as conftest_net

torch = pytest.importorskip("torch")
from tests.torch_graph import run_torch, torch_tensors  # noqa: E402

SMALL_VGG = """
block stage(c, n) { repeat n { conv 3x3/c pad 1; relu }; pool max 2x2 }
network small_vgg { input 3x32x32; stage(16, 2); stage(32, 2); stage(64, 3); fc 64; relu; fc 10; softmax }
"""

INCEPTION_BLOCK = """
network inception_3a {
  input 192x12x12  # inception 3a of GoogLeNet (28x28 there; smaller maps keep the test quick)
  concat {
    branch { conv 1x1/64; relu }
    branch { conv 1x1/96; relu; conv 3x3/128 pad 1; relu }
    branch { conv 1x1/16; relu; conv 5x5/32 pad 2; relu }
    branch { pool max 3x3 stride 1 pad 1; conv 1x1/32; relu }
  }
}
"""


def load(name):
    if name == "small_vgg":
        return compile_text(SMALL_VGG)
    if name == "inception_3a":
        return compile_text(INCEPTION_BLOCK)
    # ResNet-20 on 16x16 maps: the same layers, a quarter of the arithmetic
    shape = (3, 16, 16) if name == "resnet20_cifar" else None
    return cnnc.load(ROOT / "examples" / f"{name}.cnn", input_shape=shape)


def close(got, expected, what):
    scale = float(np.abs(expected).max()) or 1.0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale, err_msg=what)


def step(graph, weights, dtype, x, r, opt=0):
    """One training step of cnnc: output, input gradient, param gradients, tensors after. At opt
    2, the training-safe passes (as `cnnc train` compiles) run on a copy of the graph."""
    if opt:
        graph = load(graph.name)
    copied = {k: {n: a.copy() for n, a in t.items()} for k, t in weights.items()}
    net = cnnc.compile(graph, opt=opt, dtype=dtype, weights=copied, training=True)
    assert bool(opt) == any(node.op.startswith("fused_") for node in net.graph.nodes)
    y = net(x, training=True)
    return y, net.backward(r), net.grads, net.tensors


def torch_step(graph, weights, x, r, dtype=torch.float64):
    tensors = torch_tensors(weights, dtype=dtype)
    tx = torch.tensor(x, dtype=dtype, requires_grad=True)
    ty = run_torch(graph, tx, tensors, training=True)
    ty.backward(torch.tensor(r, dtype=dtype))
    return ty.detach().numpy(), tx.grad.numpy(), tensors


def relative_error(got, truth):
    return np.linalg.norm(got - truth) / np.linalg.norm(truth)


@pytest.mark.parametrize("opt", [0, 2], ids=["O0", "O2-training"])
@pytest.mark.parametrize("name", ["lenet5", "resnet20_cifar", "inception_3a", "small_vgg"])
def test_training_step_equals_torch(name, opt):
    """Forward, backward and BN running statistics against PyTorch on the same weights.

    float64 must agree to rounding. In float32, sums of the incoming gradient
    inside BN backward cancel (ResNet-20 at random init): PyTorch's own float32
    gradients then differ from float64 by up to 1% in norm, and so may cnnc's,
    depending on the rounding of the instance. So float32 outputs are held to
    1e-4, float32 gradients to 1e-3 in norm or to 10x PyTorch float32's own
    error on the same instance, whichever is larger.
    """
    graph = load(name)
    weights = init_weights(graph, seed=1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, *graph.input.meta["shape"])).astype(np.float32)
    r = rng.normal(size=(8, *graph.output.meta["shape"])).astype(np.float32)
    ty, tdx, tensors = torch_step(graph, weights, x, r)
    y, dx, grads, after = step(graph, weights, "float64", x, r, opt)
    np.testing.assert_allclose(y, ty, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dx, tdx, rtol=1e-9, atol=1e-12 * np.abs(tdx).max())
    for layer, g in grads.items():
        for param, array in g.items():
            expected = tensors[layer][param].grad.numpy()
            np.testing.assert_allclose(array, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())
    for layer, t in tensors.items():
        for stat in ("running_mean", "running_var"):
            if stat in t:
                np.testing.assert_allclose(after[layer][stat], t[stat].numpy(), rtol=1e-12)
    y32, dx32, grads32, _ = step(graph, weights, "float32", x, r, opt)
    _, torch_dx32, tensors32 = torch_step(graph, weights, x, r, torch.float32)
    close(y32, ty, "float32 output")
    assert relative_error(dx32, tdx) <= max(1e-3, 10 * relative_error(torch_dx32, tdx))
    for layer, g in grads32.items():
        for param, array in g.items():
            truth, theirs = tensors[layer][param].grad.numpy(), tensors32[layer][param].grad.numpy()
            assert relative_error(array, truth) <= max(1e-3, 10 * relative_error(theirs, truth)), f"{layer}.{param}"


@pytest.mark.parametrize("name", ["resnet20_cifar", "inception_3a"])
def test_optimized_inference_equals_torch_on_the_unoptimized_graph(name):
    graph = load(name)
    weights = init_weights(graph, seed=2)
    tensors = torch_tensors(weights)
    x = np.random.default_rng(0).normal(size=(2, *graph.input.meta["shape"])).astype(np.float32)
    expected = run_torch(graph, torch.from_numpy(x), tensors).detach().numpy()
    net = cnnc.compile(load(name), opt=2, weights={k: {n: a.copy() for n, a in t.items()} for k, t in weights.items()})
    close(net(x), expected, "optimized output")


@pytest.mark.parametrize(
    "body",
    ["conv 3x3/4 pad 1; relu; fc 3", "conv 3x3/3 groups 3 pad 1; fc 3", "fc 5; relu; fc 3", "conv 3x3/4; tanh; fc 3"],
)
def test_backward_without_the_input_gradient_gives_the_same_parameter_gradients(body):
    """input_grad=False (what training asks) skips the first layer's input gradient and nothing else."""
    graph = conftest_net(body, "3x6x6")
    x = np.random.default_rng(0).normal(size=(2, 3, 6, 6))
    grads = []
    for input_grad in (True, False):
        net = cnnc.compile(graph, opt=0, dtype="float64", weights=init_weights(graph, seed=1))
        y = net(x, training=True)
        net.zero_grad()
        dx = net.backward(np.ones_like(y), input_grad=input_grad)
        assert (dx is None) == (not input_grad)
        grads.append({(k, n): g.copy() for k, t in net.grads.items() for n, g in t.items()})
    assert grads[0].keys() == grads[1].keys()
    for key, g in grads[0].items():
        np.testing.assert_array_equal(grads[1][key], g, err_msg=str(key))

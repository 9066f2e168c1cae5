"""Shared checks for backend kernels: reference parity, gradcheck, PyTorch parity.

Each takes one or more .cnn statements (wrapped in a network with the given
input), compiles them with opt=0, and compares the compiled Net with
  - the numpy reference executor (forward, float64),
  - central finite differences (backward, float64: inputs and every param),
  - PyTorch 2.13 (forward and backward, float32, rtol 1e-4), given a function
    torch_fn(x, tensors) -> y built from torch.nn.functional.
"""

from __future__ import annotations

import numpy as np

import cnnc
from cnnc.runtime.reference import run_reference
from cnnc.runtime.weights import init_weights
from tests.conftest import net as build


def make(stmt: str, input_shape: str, batch: int, dtype: str, seed: int = 0):
    graph = build(stmt, input_shape)
    weights = init_weights(graph, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for tensors in weights.values():  # make BN, PReLU and biases non-trivial
        for name in ("scale", "shift", "running_mean", "slope", "bias"):
            if name in tensors:
                tensors[name][...] = rng.normal(size=tensors[name].shape) * 0.5 + (name in ("scale", "slope"))
        if "running_var" in tensors:
            tensors["running_var"][...] = rng.uniform(0.5, 2.0, tensors["running_var"].shape)
    reference_weights = {k: {n: a.copy() for n, a in t.items()} for k, t in weights.items()}
    compiled = cnnc.compile(graph, opt=0, dtype=dtype, weights=weights, seed=seed)
    x = rng.normal(size=(batch, *graph.input.meta["shape"]))
    return graph, compiled, reference_weights, x


def check_forward(stmt, input_shape="4x9x9", batch=2, training=False, rtol=1e-10, atol=1e-12):
    graph, net, weights, x = make(stmt, input_shape, batch, "float64")
    net.rng = np.random.default_rng(11)
    y = net(x, training=training)
    expected = run_reference(graph, x, weights, training=training, seed=11)
    np.testing.assert_allclose(y, expected, rtol=rtol, atol=atol)
    return y


def gradcheck(stmt, input_shape="3x7x7", batch=2, training=True, eps=1e-6, samples=12, rtol=1e-5, atol=1e-7):
    """Analytical gradients of sum(y * r) against central differences, sampled entries."""
    graph, net, _, x = make(stmt, input_shape, batch, "float64")
    rng = np.random.default_rng(5)

    def loss(x):
        net.rng = np.random.default_rng(3)  # the same dropout mask every time
        y = net(x, training=training)
        return float((y * r).sum()), y

    net.rng = np.random.default_rng(3)
    r = rng.normal(size=net(x, training=training).shape)
    loss(x)
    net.zero_grad()
    dx = net.backward(r)
    checks = [("input", x, dx)] + [
        (f"{layer}.{name}", net.tensors[layer][name], net.grads[layer][name])
        for layer, names in net.learnable.items()
        for name in names
    ]
    for label, array, analytic in checks:
        flat = array.reshape(-1)
        for i in rng.choice(flat.size, size=min(samples, flat.size), replace=False):
            saved = flat[i]
            flat[i] = saved + eps
            plus = loss(x)[0]
            flat[i] = saved - eps
            minus = loss(x)[0]
            flat[i] = saved
            numeric = (plus - minus) / (2 * eps)
            got = analytic.reshape(-1)[i]
            assert abs(got - numeric) <= atol + rtol * abs(numeric), f"{label}[{i}]: {got} vs numeric {numeric}"


def torch_parity(stmt, torch_fn, input_shape="4x9x9", batch=2, training=True, rtol=1e-4, atol=1e-5):
    """float32 forward and backward equal to PyTorch's autograd on the same weights."""
    import torch

    graph, net, weights, x = make(stmt, input_shape, batch, "float32")
    x32 = x.astype(np.float32)
    net.rng = np.random.default_rng(3)
    y = net(x32, training=training)
    r = np.random.default_rng(9).normal(size=y.shape).astype(np.float32)
    net.zero_grad()
    dx = net.backward(r)
    tx = torch.tensor(x32, requires_grad=True)
    layer = graph.output.name
    tensors = {k: torch.tensor(v.astype(np.float32), requires_grad=k in net.learnable.get(layer, ()))
               for k, v in weights.get(layer, {}).items()}  # fmt: skip
    ty = torch_fn(tx, tensors)
    ty.backward(torch.from_numpy(r))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=rtol, atol=atol)
    for name, t in tensors.items():
        if t.requires_grad:
            np.testing.assert_allclose(net.grads[layer][name], t.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)

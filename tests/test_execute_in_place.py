"""The executor writes a concat's branches into its buffer (eliminate_concat's marks), and the
direct convs apply a fused ReLU in their crop: outputs and gradients as without either."""

from __future__ import annotations

import numpy as np
import pytest

import cnnc
from cnnc.runtime import execute
from cnnc.runtime.weights import init_weights
from tests.conftest import net

INCEPTION = (
    "concat { branch { conv 1x1/4; relu }; branch { conv 1x1/3; relu; conv 3x3/5 pad 1; relu }; "
    "branch { conv 1x1/2; relu; conv 5x5/3 pad 2; relu }; branch { pool max 3x3 stride 1 pad 1; conv 1x1/2; relu } }"
)


def nets(training: bool):
    """The same inception block and weights, unoptimised and at -O2 (training's passes if training)."""
    weights = init_weights(net(INCEPTION, "8x6x6"), seed=0)
    copy = lambda: {k: {n: a.copy() for n, a in t.items()} for k, t in weights.items()}  # noqa: E731
    plain = cnnc.compile(net(INCEPTION, "8x6x6"), opt=0, weights=copy())
    optimized = cnnc.compile(net(INCEPTION, "8x6x6"), opt=2, weights=copy(), training=training)
    return plain, optimized


@pytest.fixture
def placed(monkeypatch):
    """{node name: whether its kernel wrote into the concat's buffer itself} of each placed node."""
    record = {}
    real = execute._settled

    def settled(out, into):
        if into is not None:
            record[len(record)] = out.base is into[0]
        return real(out, into)

    monkeypatch.setattr(execute, "_settled", settled)
    return record


def test_inference_writes_branches_in_place_and_matches_the_unoptimised_net(placed):
    plain, optimized = nets(training=False)
    concat = next(n for n in optimized.graph.nodes if n.op == "concat")
    writers = [n.name for n in concat.inputs if n.meta.get("writes_into")]
    assert len(writers) == 3  # the 1x1/4 branch is a slice of the stacked 1x1 convs: a view, copied
    x = np.random.default_rng(1).normal(size=(3, 8, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(optimized(x), plain(x), rtol=1e-5, atol=1e-6)
    # the 3x3 and 5x5 convs (direct, ReLU in their crop) wrote there; the pool branch's 1x1 (a GEMM) was copied
    assert sorted(placed.values()) == [False, True, True]


def test_training_in_place_gives_the_unoptimised_gradients(placed):
    plain, optimized = nets(training=True)
    x = np.random.default_rng(1).normal(size=(3, 8, 6, 6)).astype(np.float32)
    dy = np.random.default_rng(2).normal(size=(3, 14, 6, 6)).astype(np.float32)
    outputs = []
    for compiled in (plain, optimized):
        outputs.append(compiled(x, training=True))
        compiled.zero_grad()
        outputs.append(compiled.backward(dy))
    np.testing.assert_allclose(outputs[2], outputs[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs[3], outputs[1], rtol=1e-4, atol=1e-5)
    for layer, grads in plain.grads.items():
        for name, grad in grads.items():
            np.testing.assert_allclose(optimized.grads[layer][name], grad, rtol=1e-4, atol=1e-5, err_msg=layer)
    assert True in placed.values()

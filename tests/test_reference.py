"""The numpy reference executor against PyTorch 2.13, op by op, in float64."""

import numpy as np
import pytest

from cnnc.errors import CnncError
from cnnc.runtime.reference import run_reference
from cnnc.runtime.weights import init_weights
from tests.conftest import ROOT, compile_text, net

torch = pytest.importorskip("torch")
F = torch.nn.functional


def run(stmt, input_shape="4x9x9", batch=2, training=False, seed=0):
    """Compile one statement, bind random weights, run it; return (y, x, weights, node)."""
    graph = net(stmt, input_shape)
    weights = init_weights(graph, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for tensors in weights.values():  # make BN and PReLU non-trivial
        for name in ("scale", "shift", "running_mean", "slope", "bias"):
            if name in tensors:
                tensors[name][...] = rng.normal(size=tensors[name].shape)
        if "running_var" in tensors:
            tensors["running_var"][...] = rng.uniform(0.5, 2.0, tensors["running_var"].shape)
    x = rng.normal(size=(batch, *graph.input.meta["shape"]))
    y = run_reference(graph, x, weights, training=training)
    node = graph.output
    return y, torch.from_numpy(x), {k: torch.from_numpy(v.copy()) for k, v in weights.get(node.name, {}).items()}


def same(y, expected):
    np.testing.assert_allclose(y, expected.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("stmt", "kwargs"),
    [
        ("conv 3x3/6 pad 1", dict(padding=1)),
        ("conv 3x3/6 stride 2", dict(stride=2)),
        ("conv 1x5/6 stride 2x1 pad 0x2", dict(stride=(2, 1), padding=(0, 2))),
        ("conv 3x3/6 dilation 2 pad 2", dict(dilation=2, padding=2)),
        ("conv 3x3/8 groups 2 pad 1 nobias", dict(groups=2, padding=1)),
        ("conv 3x3/4 groups 4 pad 1", dict(groups=4, padding=1)),
    ],
)
def test_conv_matches_torch(stmt, kwargs):
    y, x, w = run(stmt)
    same(y, F.conv2d(x, w["weight"], w.get("bias"), **kwargs))


@pytest.mark.parametrize(
    ("stmt", "fn"),
    [
        ("pool max 2x2", lambda x: F.max_pool2d(x, 2)),
        ("pool max 3x3 stride 2 pad 1", lambda x: F.max_pool2d(x, 3, 2, 1)),
        ("pool max 3x3 stride 2 ceil", lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True)),
        ("pool max 2x2 stride 2 pad 1 ceil", lambda x: F.max_pool2d(x, 2, 2, 1, ceil_mode=True)),
        ("pool avg 3x3 stride 2 pad 1", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)),
        ("pool avg 3x3 stride 2 ceil", lambda x: F.avg_pool2d(x, 3, 2, ceil_mode=True, count_include_pad=False)),
        ("pool avg 2x3 stride 1x2", lambda x: F.avg_pool2d(x, (2, 3), (1, 2))),
        ("pool l2 3x3 stride 2", lambda x: F.lp_pool2d(x, 2, 3, 2)),
        ("pool avg global", lambda x: F.adaptive_avg_pool2d(x, 1)),
        ("pool max global", lambda x: F.adaptive_max_pool2d(x, 1)),
    ],
)
def test_pool_matches_torch(stmt, fn):
    y, x, _ = run(stmt)
    same(y, fn(x))


def test_fc_flattens_and_matches_torch():
    y, x, w = run("fc 5")
    same(y, F.linear(x.flatten(1), w["weight"], w["bias"]))


@pytest.mark.parametrize(
    ("stmt", "fn"),
    [
        ("relu", F.relu),
        ("relu6", F.relu6),
        ("sigmoid", torch.sigmoid),
        ("tanh", torch.tanh),
        ("selu", F.selu),
        ("softmax", lambda x: F.softmax(x, dim=1)),
        ("leaky_relu", F.leaky_relu),
        ("leaky_relu 0.2", lambda x: F.leaky_relu(x, 0.2)),
        ("elu", F.elu),
        ("elu 0.5", lambda x: F.elu(x, 0.5)),
        ("lrn 5 alpha 1e-2 beta 0.75 k 2", lambda x: F.local_response_norm(x, 5, 1e-2, 0.75, 2.0)),
        ("lrn 4", lambda x: F.local_response_norm(x, 4, 1e-4, 0.75, 1.0)),
        ("flatten", lambda x: x.flatten(1)),
    ],
)
def test_activations_and_lrn_match_torch(stmt, fn):
    y, x, _ = run(stmt)
    same(y, fn(x))


def test_prelu_and_maxout():
    y, x, w = run("prelu")
    same(y, F.prelu(x, w["slope"]))
    y, x, _ = run("maxout 2")
    same(y, x.reshape(2, 2, 2, 9, 9).amax(dim=2))


@pytest.mark.parametrize("training", [False, True])
def test_bn_matches_torch_in_both_modes_and_updates_running_stats(training):
    graph = net("bn eps 1e-3 momentum 0.2", "4x5x5")
    weights = init_weights(graph)
    rng = np.random.default_rng(3)
    tensors = weights["bn1"]
    tensors["running_mean"][...] = rng.normal(size=4)
    tensors["running_var"][...] = rng.uniform(0.5, 2, size=4)
    mean, var = (torch.from_numpy(tensors[k].copy()) for k in ("running_mean", "running_var"))
    x = rng.normal(size=(3, 4, 5, 5))
    y = run_reference(graph, x, weights, training=training)
    expected = F.batch_norm(
        torch.from_numpy(x), mean, var, torch.from_numpy(tensors["scale"]), torch.from_numpy(tensors["shift"]),
        training=training, momentum=0.2, eps=1e-3,
    )  # fmt: skip
    same(y, expected)
    np.testing.assert_allclose(tensors["running_mean"], mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(tensors["running_var"], var.numpy(), rtol=1e-12)


@pytest.mark.parametrize("training", [False, True])
def test_bn_on_vectors_normalises_each_feature(training):
    y, x, w = run("bn", "6", batch=5, training=training)
    mean, var = (torch.zeros(6), torch.ones(6)) if training else (w["running_mean"], w["running_var"])
    same(y, F.batch_norm(x, mean.double(), var.double(), w["scale"], w["shift"], training=training))


def test_dropout_keeps_one_minus_p_scaled_and_is_identity_in_inference():
    graph = net("dropout 0.3", "1x100x100")
    x = np.ones((4, 1, 100, 100))
    y = run_reference(graph, x, {}, training=True, seed=7)
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    np.testing.assert_array_equal(run_reference(graph, x, {}, training=False), x)
    np.testing.assert_array_equal(run_reference(graph, x, {}, training=True, seed=7), y)


def test_concat_and_residual():
    graph = compile_text(
        "network t { input 2x4x4; concat { identity; branch { relu } }; residual { relu } shortcut { identity } }"
    )
    x = np.random.default_rng(0).normal(size=(1, 2, 4, 4))
    y = run_reference(graph, x, {})
    c = np.concatenate([x, np.maximum(x, 0)], axis=1)
    np.testing.assert_allclose(y, np.maximum(c, 0) + c)


def test_whole_resnet20_runs_and_batch_items_are_independent():
    graph = compile_text((ROOT / "examples" / "resnet20_cifar.cnn").read_text())
    weights = init_weights(graph, seed=1)
    x = np.random.default_rng(0).normal(size=(3, 3, 32, 32))
    y = run_reference(graph, x, weights)
    np.testing.assert_allclose(run_reference(graph, x[1:2], weights), y[1:2], rtol=1e-12)


def test_bad_input_shape_and_missing_weights_are_clear_errors():
    graph = net("conv 3x3/4")
    with pytest.raises(CnncError, match="input has shape 2x3x8x8, network 't' takes Nx3x32x32"):
        run_reference(graph, np.zeros((2, 3, 8, 8)), {})
    with pytest.raises(CnncError, match="no weights bound"):
        run_reference(graph, np.zeros((1, 3, 32, 32)))


def test_init_schemes_follow_the_activation():
    graph = net("conv 3x3/64 pad 1; bn; relu; conv 3x3/64 pad 1; tanh; fc 10; selu", "16x16x16")
    weights = init_weights(graph, seed=0)
    he = weights["conv1"]["weight"].std()
    xavier = weights["conv2"]["weight"]
    lecun = weights["fc1"]["weight"].std()
    assert abs(he - np.sqrt(2 / (16 * 9))) < 0.01
    assert np.abs(xavier).max() <= np.sqrt(6 / (64 * 9 + 64 * 9))
    assert abs(lecun - np.sqrt(1 / (64 * 16 * 16))) < 0.002
    assert (weights["bn1"]["scale"] == 1).all() and (weights["bn1"]["running_var"] == 1).all()
    np.testing.assert_array_equal(init_weights(graph, seed=0)["conv1"]["weight"], weights["conv1"]["weight"])

"""Training-mode layers as training sees them through a compiled Net: dropout and BN statistics."""

from __future__ import annotations

import numpy as np

import cnnc


def _net(tmp_path, body: str, dtype="float64"):
    (tmp_path / "n.cnn").write_text(f"network n {{\n  {body}\n}}\n")
    return cnnc.compile(tmp_path / "n.cnn", opt=0, dtype=dtype, seed=3)


def test_dropout_keeps_one_minus_p_of_units_scaled_by_its_inverse(tmp_path):
    net = _net(tmp_path, "input 1x100x100\n  dropout 0.3")
    x = np.ones((10, 1, 100, 100))
    y = net(x, training=True)
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.005  # 100,000 units: the standard error is 0.0015
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    assert abs(y.mean() - 1.0) < 0.01  # the expectation is unchanged
    np.testing.assert_array_equal(net(x), x)  # inference: the identity


def test_dropout_masks_differ_between_steps_and_follow_the_net_rng(tmp_path):
    net = _net(tmp_path, "input 1x10x10\n  dropout 0.5")
    x = np.ones((4, 1, 10, 10))
    state = net.rng.bit_generator.state
    first, second = net(x, training=True), net(x, training=True)
    assert not np.array_equal(first, second)
    net.rng.bit_generator.state = state  # what a checkpoint restores
    np.testing.assert_array_equal(net(x, training=True), first)


def test_batch_norm_normalises_with_batch_statistics_and_updates_running_ones(tmp_path):
    net = _net(tmp_path, "input 3x4x4\n  bn")
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, (16, 3, 4, 4))
    y = net(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)  # eps 1e-5 in the denominator
    (layer,) = [name for name, t in net.tensors.items() if "running_mean" in t]
    buffers = net.tensors[layer]
    # torch's momentum 0.1; the running variance uses the unbiased batch variance
    np.testing.assert_allclose(buffers["running_mean"], 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(buffers["running_var"], 0.9 + 0.1 * x.var(axis=(0, 2, 3), ddof=1), rtol=1e-12)

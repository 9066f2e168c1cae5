"""Losses against torch.nn.functional (float64): values and gradients, and stability at large logits."""

from __future__ import annotations

import numpy as np
import pytest

from cnnc.backend.cpu.loss import bce, bce_with_logits, cross_entropy, mse, target_for

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _torch(fn, x, *rest):
    t = torch.tensor(x, requires_grad=True)
    loss = fn(t, *[torch.tensor(r) for r in rest])
    loss.backward()
    return loss.item(), t.grad.numpy()


def _check(ours, theirs):
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-15)


def test_cross_entropy_matches_torch_mean_over_batch():
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(7, 10)) * 3, rng.integers(0, 10, 7)
    _check(cross_entropy(logits, labels), _torch(F.cross_entropy, logits, labels))


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [5e3, 5e3, 0.0]])
    loss, grad = cross_entropy(logits, np.array([0, 2]))
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    _check((loss, grad), _torch(F.cross_entropy, logits, np.array([0, 2])))


def test_mse_matches_torch_mean_over_elements():
    rng = np.random.default_rng(1)
    out, target = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    _check(mse(out, target), _torch(F.mse_loss, out, target))


def test_bce_with_logits_matches_torch_and_is_stable():
    rng = np.random.default_rng(2)
    logits, target = rng.normal(size=(6, 3)) * 50, rng.integers(0, 2, (6, 3)).astype(float)
    _check(bce_with_logits(logits, target), _torch(F.binary_cross_entropy_with_logits, logits, target))


def test_bce_on_probabilities_matches_torch_including_clamped_logs():
    rng = np.random.default_rng(3)
    probs, target = rng.uniform(0.01, 0.99, (6, 3)), rng.integers(0, 2, (6, 3)).astype(float)
    probs[0, 0], target[0, 0] = 0.0, 1.0  # log(0) clamped to -100 as torch does
    _check(bce(probs, target), _torch(F.binary_cross_entropy, probs, target))


def test_target_for_one_hot_for_mse_and_indices_for_cross_entropy():
    labels = np.array([2, 0])
    assert target_for("cross_entropy", labels, 3, np.float32) is labels
    np.testing.assert_array_equal(target_for("mse", labels, 3, np.float32), [[0, 0, 1], [1, 0, 0]])
    assert target_for("bce", labels, 1, np.float64).shape == (2, 1)

"""Losses: each returns (mean loss over the batch, gradient with respect to the net's output).

The mean is PyTorch's ``reduction="mean"``: over the batch for cross-entropy,
over every element for MSE and BCE.

- cross_entropy(logits, labels): softmax fused in, computed with log-sum-exp
  (subtract the row maximum first) so that large logits never overflow;
  d/dlogits = (softmax - onehot) / N.
- mse(output, target): mean (output - target)^2.
- bce: on logits (torch's BCEWithLogitsLoss, stable: max(x,0) - x*t +
  log(1 + exp(-|x|))) when the network ends in anything but a sigmoid; on
  probabilities (torch's BCELoss, each log clamped at -100 as torch does) when
  it ends in a sigmoid. ``loss_for(name, graph)`` picks the form.
"""

from __future__ import annotations

import numpy as np

from ...errors import CnncError

BCE_EPSILON = float(np.float32(1e-12))


def cross_entropy(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_sum
    rows = np.arange(n)
    loss = -log_probs[rows, labels].mean()
    grad = np.exp(log_probs)
    grad[rows, labels] -= 1
    grad /= n
    return float(loss), grad


def mse(output, target):
    diff = output - target
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


def bce_with_logits(logits, target):
    loss = np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
    sigmoid = np.exp(-np.logaddexp(0, -logits))  # 1/(1+exp(-x)) without overflow
    return float(loss.mean()), (sigmoid - target) / logits.size


def bce(probs, target):
    with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped as torch does
        log_p = np.maximum(np.log(probs), -100.0)
        log_q = np.maximum(np.log(1 - probs), -100.0)
    loss = -(target * log_p + (1 - target) * log_q)
    # torch clamps the denominator p(1-p) at 1e-12 (a float32 constant) so that saturated outputs stay finite
    grad = (probs - target) / np.maximum(probs * (1 - probs), BCE_EPSILON) / probs.size
    return float(loss.mean()), grad


def loss_for(name: str, graph):
    """The loss function for a train section's ``loss`` and this network's output."""
    if name == "cross_entropy":
        return cross_entropy
    if name == "mse":
        return mse
    if name == "bce":
        return bce if graph.output.op == "sigmoid" else bce_with_logits
    raise CnncError(f"unknown loss '{name}'; choose one of cross_entropy, mse, bce")


def target_for(name: str, labels, outputs: int, dtype):
    """Cross-entropy takes class indices; MSE and BCE a one-hot target (or the labels when there is one output)."""
    if name == "cross_entropy":
        return labels
    if labels.ndim == 1 and outputs > 1:
        onehot = np.zeros((labels.shape[0], outputs), dtype=dtype)
        onehot[np.arange(labels.shape[0]), labels] = 1
        return onehot
    return labels.reshape(labels.shape[0], -1).astype(dtype)

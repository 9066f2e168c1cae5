"""Scoring a net on a data split: loss, accuracy, predictions and a confusion matrix."""

from __future__ import annotations

import numpy as np

from ..backend.cpu.loss import loss_for, target_for
from ..errors import CnncError

EVAL_BATCH = 256  # inference only: larger batches, same results


def predictions(outputs: np.ndarray, loss: str, probabilities: bool) -> np.ndarray:
    """Class indices: the arg max, or a threshold for a single sigmoid/BCE output."""
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > (0.5 if probabilities else 0.0)).astype(np.int64)
    return outputs.argmax(axis=1)


def evaluate(net, x, y, loss: str) -> dict:
    """{"loss", "accuracy" (%), "correct", "count", "predicted"} in inference mode (BN running stats, no dropout)."""
    if len(x) == 0:
        return {"loss": None, "accuracy": None, "correct": 0, "count": 0, "predicted": np.zeros(0, np.int64)}
    loss_fn = loss_for(loss, net.graph)
    total, predicted = 0.0, []
    for start in range(0, len(x), EVAL_BATCH):
        out = net(x[start : start + EVAL_BATCH])
        out = out.reshape(len(out), -1)
        labels = y[start : start + EVAL_BATCH]
        value, _ = loss_fn(out, target_for(loss, labels, out.shape[1], out.dtype))
        total += value * len(out)  # every loss is a mean over the batch: weight by its size
        predicted.append(predictions(out, loss, net.graph.output.op == "sigmoid"))
    predicted = np.concatenate(predicted)
    correct = int(np.sum(predicted == y))
    return {
        "loss": total / len(x),
        "accuracy": 100.0 * correct / len(x),
        "correct": correct,
        "count": len(x),
        "predicted": predicted,
    }


def check_labels(y, outputs: int, loss: str, spec: str) -> None:
    """Labels must index the network's outputs (or be 0/1 for a single output)."""
    classes = max(outputs, 2)
    if len(y) and (y.min() < 0 or y.max() >= classes):
        raise CnncError(f"data '{spec}' has labels {int(y.min())}..{int(y.max())}, the network has {outputs} outputs")
    if loss == "cross_entropy" and outputs < 2:
        raise CnncError("cross_entropy needs one output per class (at least 2); for one output use bce")


def confusion_matrix(y, predicted, classes: int) -> np.ndarray:
    """rows: true class, columns: predicted class."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (y, predicted), 1)
    return matrix


def format_confusion(matrix: np.ndarray) -> str:
    width = max(len(str(matrix.max())), len(str(len(matrix) - 1)), 3)
    header = "true\\pred " + " ".join(f"{c:>{width}}" for c in range(len(matrix)))
    rows = [f"{i:>9} " + " ".join(f"{v:>{width}}" for v in row) for i, row in enumerate(matrix)]
    return "\n".join([header, *rows])

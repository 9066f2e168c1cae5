"""Shared helpers: compile .cnn text and look at the result."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnc.analysis import totals
from cnnc.api import loads

ROOT = Path(__file__).resolve().parent.parent


def compile_text(text: str, **kwargs):
    return loads(text, file="net.cnn", **kwargs)


def net(body: str, input_shape: str = "3x32x32", input_shape_override=None, **kwargs):
    """Compile statements wrapped in a network with the given input."""
    text = f"network t {{\n  input {input_shape}\n{body}\n}}\n"
    return compile_text(text, input_shape=input_shape_override, **kwargs)


def shapes(graph) -> dict[str, tuple]:
    return {node.name: node.meta["shape"] for node in graph.nodes}


@pytest.fixture
def root() -> Path:
    return ROOT


__all__ = ["ROOT", "compile_text", "net", "shapes", "totals"]


def digits_npz(folder: Path, train: int, test: int) -> Path:
    """The first train + test bundled digits as folder/small.npz (x, y, x_test, y_test): data for quick runs."""
    import numpy as np

    from cnnc.runtime.data import digits

    x, y, _, _ = digits()
    path = folder / "small.npz"
    np.savez(path, x=x[:train], y=y[:train], x_test=x[train : train + test], y_test=y[train : train + test])
    return path

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

"""Parameter initialisation, deterministic from a seed.

He (Kaiming) normal for layers feeding the ReLU family, Xavier/Glorot uniform
for tanh, sigmoid and softmax, LeCun normal for SELU; biases and BN shift 0,
BN scale 1, running mean 0 and variance 1, PReLU slopes 0.25.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node

XAVIER_ACTIVATIONS = {"tanh", "sigmoid", "softmax"}


def init_weights(graph: Graph, seed: int = 0, dtype=np.float64) -> dict[str, dict[str, np.ndarray]]:
    """{node name: {tensor name: array}} for every node with params or buffers."""
    rng = np.random.default_rng(seed)
    consumers = _consumers(graph)
    weights = {}
    for node in graph.nodes:
        tensors = {}
        for name, shape in {**node.meta["params"], **node.meta["buffers"]}.items():
            tensors[name] = _initial(node, name, shape, consumers, rng).astype(dtype)
        if tensors:
            weights[node.name] = tensors
    return weights


def _initial(node: Node, name: str, shape: tuple, consumers, rng) -> np.ndarray:
    if name == "weight":
        fan_in = int(np.prod(shape[1:]))
        fan_out = shape[0] * int(np.prod(shape[2:]))
        scheme = _scheme(node, consumers)
        if scheme == "xavier":
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            return rng.uniform(-bound, bound, shape)
        std = np.sqrt((1.0 if scheme == "lecun" else 2.0) / fan_in)
        return rng.normal(0.0, std, shape)
    fill = {"scale": 1.0, "running_var": 1.0, "slope": 0.25}.get(name, 0.0)
    return np.full(shape, fill)


def _scheme(node: Node, consumers) -> str:
    """The activation that follows a conv or fc (through BN and dropout) picks the scheme."""
    nxt = node
    while True:
        following = consumers.get(nxt.name, [])
        if len(following) != 1 or following[0].op not in ("bn", "dropout"):
            break
        nxt = following[0]
    ops = {c.op for c in consumers.get(nxt.name, [])}
    if ops & XAVIER_ACTIVATIONS:
        return "xavier"
    return "lecun" if "selu" in ops else "he"


def _consumers(graph: Graph) -> dict[str, list[Node]]:
    table: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for source in node.inputs:
            table.setdefault(source.name, []).append(node)
    return table

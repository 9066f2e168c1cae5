"""Parameter initialisation, deterministic from a seed.

He (Kaiming) normal for layers feeding the ReLU family, Xavier/Glorot uniform
for tanh, sigmoid and softmax, LeCun normal for SELU; biases and BN shift 0,
BN scale 1, running mean 0 and variance 1, PReLU slopes 0.25.
"""

from __future__ import annotations

import zipfile

import numpy as np

from ..errors import CnncError
from ..ir import Graph, Node
from .npz import read_npz

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


# --- files ------------------------------------------------------------------
# Tensors are named "<layer path>.<tensor>", e.g. "stage2/conv1.weight",
# "bn1.running_mean". .safetensors (the safetensors numpy API) or .npz; never pickle.


def flatten_names(weights: dict) -> dict[str, np.ndarray]:
    return {f"{layer}.{name}": array for layer, tensors in weights.items() for name, array in tensors.items()}


def save_weights(weights: dict, path) -> None:
    """Write atomically: a temporary file in the same folder, then os.replace."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    flat = {k: np.ascontiguousarray(v) for k, v in flatten_names(weights).items()}
    suffix = _format(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise CnncError(f"cannot write {path}: {error.strerror}") from None
    os.close(fd)
    try:
        if suffix == ".npz":
            with open(tmp, "wb") as out:
                np.savez(out, **flat)
        else:
            from safetensors.numpy import save_file

            save_file(flat, tmp)
        with open(tmp, "rb+") as out:
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_weights(graph: Graph, path, dtype=np.float64) -> dict[str, dict[str, np.ndarray]]:
    """Weights for ``graph`` from a file, checked name by name and shape by shape."""
    flat = _read(path)
    expected = flatten_names(
        {
            n.name: {**n.meta["params"], **n.meta["buffers"]}
            for n in graph.nodes
            if n.meta["params"] or n.meta["buffers"]
        }
    )
    missing = [name for name in expected if name not in flat]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise CnncError(f"{path}: no tensor '{missing[0]}'{more} for network '{graph.name}'")
    extra = [name for name in flat if name not in expected]
    if extra:
        raise CnncError(f"{path}: tensor '{extra[0]}' is not a parameter of network '{graph.name}'")
    weights: dict[str, dict[str, np.ndarray]] = {}
    for name, shape in expected.items():
        array = flat[name]
        if tuple(array.shape) != tuple(shape):
            raise CnncError(
                f"{path}: tensor '{name}' has shape {'x'.join(map(str, array.shape))}, "
                f"the network needs {'x'.join(map(str, shape))}"
            )
        layer, tensor = name.rsplit(".", 1)
        weights.setdefault(layer, {})[tensor] = np.array(array, dtype=dtype)
    return weights


def _format(path) -> str:
    from pathlib import Path

    suffix = Path(path).suffix
    if suffix not in (".npz", ".safetensors"):
        raise CnncError(f"{path}: weights files are .safetensors or .npz, not '{suffix or 'no suffix'}'")
    return suffix


def _read(path) -> dict[str, np.ndarray]:
    suffix = _format(path)
    try:
        if suffix == ".npz":
            return read_npz(path, f"{path}: no such weights file", f"{suffix} weights file")
        from safetensors.numpy import load_file

        return load_file(str(path))
    except FileNotFoundError:
        raise CnncError(f"{path}: no such weights file") from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise CnncError(f"{path}: not a readable {suffix} weights file ({error})") from None
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types
        if type(error).__name__ == "SafetensorError":
            raise CnncError(f"{path}: not a readable {suffix} weights file ({error})") from None
        raise

"""The executor: a compiled Net runs the graph's kernels forward and backward.

``net = cnnc.compile("x.cnn", opt=2)``; ``y = net(x)``. For training:
``y = net(x, training=True)``; ``dx = net.backward(dy)`` fills ``net.grads``
({layer: {param: array}}, accumulated until ``zero_grad``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..backend import Context
from ..errors import CnncError
from ..ir import Graph
from ..ops import fmt_shape

DTYPES = {"float32": np.float32, "float64": np.float64}


class Net:
    def __init__(self, graph: Graph, weights: dict, dtype: str = "float32", device: str = "cpu", seed: int = 0):
        if dtype not in DTYPES:
            raise CnncError(f"dtype must be float32 or float64, not '{dtype}'")
        self.graph, self.device, self.dtype = graph, device, DTYPES[dtype]
        self.kernels = _kernels(device)
        missing = sorted({n.op for n in graph.nodes[1:] if n.op not in self.kernels})
        if missing:
            raise CnncError(f"the {device} backend has no kernel for: {', '.join(missing)}")
        self.tensors = {
            layer: {k: np.ascontiguousarray(v, dtype=self.dtype) for k, v in t.items()} for layer, t in weights.items()
        }
        self.learnable = {n.name: tuple(n.meta["params"]) for n in graph.nodes if n.meta.get("params")}
        self.grads = {
            layer: {k: np.zeros_like(self.tensors[layer][k]) for k in names} for layer, names in self.learnable.items()
        }
        self.rng = np.random.default_rng(seed)
        self._saved: dict | None = None
        self._consumers = _consumer_counts(graph)
        self._concats = {node.name: node for node in graph.nodes if node.op == "concat"}

    @property
    def params(self) -> dict:
        """{layer: {param: array}}: the learnable tensors (BN running stats are not)."""
        return {layer: {k: self.tensors[layer][k] for k in names} for layer, names in self.learnable.items()}

    def __call__(self, x, training: bool = False):
        return self.forward(x, training)

    def forward(self, x, training: bool = False):
        x = self._check_input(x)
        ctx = Context(training, self.rng)
        values = {self.graph.input.name: x}
        saved = {} if training else None
        remaining = dict(self._consumers)
        buffers: dict[str, np.ndarray] = {}  # concats that branches write into, by name
        for node in self.graph.nodes[1:]:
            inputs = [values[i.name] for i in node.inputs]
            if node.name in buffers:  # a concat in place: its branches are in its buffer already
                out, keep = _gathered(node, inputs, buffers.pop(node.name)), None
            else:
                ctx.into = self._place(node, len(x), buffers)
                out, keep = self.kernels[node.op].forward(node, inputs, self.tensors.get(node.name, {}), ctx)
                out, ctx.into = _settled(out, ctx.into), None
            values[node.name] = out
            if training:
                saved[node.name] = keep
            else:
                _release(node, values, remaining)  # inference keeps only what is still to be read
        self._saved = saved
        return values[self.graph.output.name]

    def backward(self, grad_output, input_grad: bool = True):
        """Fills self.grads; returns the gradient of the input (None with input_grad=False,
        which spares the first layer's input gradient, as training needs none)."""
        if self._saved is None:
            raise CnncError("backward() needs a forward pass with training=True first")
        ctx = Context(True, self.rng, frozenset() if input_grad else frozenset((self.graph.input.name,)))
        output = self.graph.output
        grad_output = np.ascontiguousarray(grad_output, dtype=self.dtype)
        grads = {output.name: grad_output}
        for node in reversed(self.graph.nodes[1:]):
            grad = grads.pop(node.name, None)
            if grad is None:
                continue  # nothing downstream of this node reaches the output
            kernel = self.kernels[node.op]
            input_grads = kernel.backward(
                node, grad, self._saved[node.name], self.tensors.get(node.name, {}), self.grads.get(node.name, {}), ctx
            )
            for source, g in zip(node.inputs, input_grads, strict=True):
                if g is not None and source.name not in ctx.no_grad:
                    grads[source.name] = g if source.name not in grads else grads[source.name] + g
        self._saved = None
        return grads.get(self.graph.input.name)

    def zero_grad(self) -> None:
        for tensors in self.grads.values():
            for g in tensors.values():
                g[...] = 0

    def weights(self) -> dict:
        """All tensors (params and buffers), as {layer: {name: array}}."""
        return self.tensors

    def save(self, path) -> None:
        from .weights import save_weights

        save_weights(self.tensors, path)

    def load(self, path) -> None:
        from .weights import load_weights

        for layer, tensors in load_weights(self.graph, path).items():
            for name, array in tensors.items():
                self.tensors[layer][name][...] = array

    def _place(self, node, batch: int, buffers: dict):
        """(buffer, first channel) where node's output goes, for a branch that eliminate_concat
        marked to write into its concat (the buffer made when the first such branch runs)."""
        target = node.meta.get("writes_into")
        concat = self._concats.get(target[0]) if target else None
        if concat is None or node not in concat.inputs:  # no mark, or one a later rewrite made stale
            return None
        if concat.name not in buffers:
            buffers[concat.name] = np.empty((batch, *concat.meta["shape"]), dtype=self.dtype)
        return buffers[concat.name], target[1]

    def _check_input(self, x):
        x = np.asarray(x)
        expected = tuple(self.graph.input.meta["shape"])
        if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected:
            raise CnncError(
                f"input has shape {fmt_shape(x.shape)}, network '{self.graph.name}' takes Nx{fmt_shape(expected)}"
            )
        return np.ascontiguousarray(x, dtype=self.dtype)


def _kernels(device: str) -> dict:
    if device == "cpu":
        from ..backend.cpu.registry import load_all

        return load_all()
    raise CnncError(f"unknown device '{device}'; available: cpu")


def _settled(out, into):
    """out, or where the executor asked for it (into = (buffer, first)): a kernel that could not
    write there has its output copied in."""
    if into is None:
        return out
    buffer, first = into
    if out.base is buffer:
        return out
    view = buffer[:, first : first + out.shape[1]]
    view[...] = out
    return view


def _gathered(concat, inputs, buffer):
    """A concat's buffer, with the inputs that did not write into it copied to their channels."""
    first = 0
    for value in inputs:
        if value.base is not buffer:
            buffer[:, first : first + value.shape[1]] = value
        first += value.shape[1]
    return buffer


def _consumer_counts(graph: Graph) -> dict[str, int]:
    counts = {node.name: 0 for node in graph.nodes}
    for node in graph.nodes:
        for source in node.inputs:
            counts[source.name] += 1
    return counts


def _release(node, values: dict, remaining: dict) -> None:
    for source in node.inputs:
        remaining[source.name] -= 1
        if remaining[source.name] == 0 and source is not node:
            values.pop(source.name, None)


def compile(
    source,
    network=None,
    opt: int = 2,
    device: str = "cpu",
    dtype: str = "float32",
    seed: int = 0,
    weights=None,
    input_shape=None,
    training: bool = False,
) -> Net:  # noqa: A001 - cnnc.compile is the API's name
    """A runnable Net from a .cnn path (or an analysed Graph).

    ``weights``: None (seeded init), a .safetensors/.npz path, or
    {layer: {name: array}}. ``opt`` runs the pass pipeline of that level on the
    weights before the kernels see them. A net that will be trained wants
    ``training=True``: the passes that only inference allows (BN folding,
    dropout elimination, horizontal fusion) are skipped, the fusions of BN or
    conv with their residual add and ReLU are kept.
    """
    from .weights import init_weights, load_weights

    graph = source if isinstance(source, Graph) else _load(source, network, input_shape)
    if weights is None:
        weights = init_weights(graph, seed)
    elif isinstance(weights, (str, Path)):
        weights = load_weights(graph, weights)
    graph.weights = weights
    if opt:
        from ..passes import run_passes

        run_passes(graph, level=opt, training=training)
    return Net(graph, graph.weights, dtype, device, seed)


def _load(path, network, input_shape):
    from ..api import load

    return load(path, network, input_shape)

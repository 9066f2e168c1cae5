"""The cost report of a network: one row per layer (or block) and the totals.

``build_report`` returns plain data (the JSON schema of docs/report.md);
cnnc.report_format turns it into text, markdown, JSON or CSV.
"""

from __future__ import annotations

from math import prod

from .analysis import receptive_fields, totals
from .ir import Graph, Node
from .text import describe

DTYPE_BYTES = {"float16": 2, "float32": 4, "float64": 8}

# Optimizer state per parameter, in parameter-sized tensors (torch.optim's).
OPTIMIZER_STATE = {"sgd": 0, "sgd+momentum": 1, "adagrad": 1, "adadelta": 2, "rmsprop": 1, "adam": 2}

POLICY = (
    "params: weights, biases, BN scale and shift, PReLU slopes (BN running mean/var are buffers). "
    "MACs: multiply-accumulates of conv and fc only (torchvision's 'GFLOPS'). "
    "FLOPs: 2 x MACs, plus 1 per output element for bias, activation, BN and residual add, "
    "1 per window element for pooling and LRN; dropout, concat, flatten, identity: 0. "
    "memory: output elements of each layer per image, bytes at the dtype."
)


def build_report(
    graph: Graph, batch: int = 1, dtype: str = "float32", depth: int | None = None, optimizer=None
) -> dict:
    receptive_fields(graph)
    size = DTYPE_BYTES[dtype]
    t = totals(graph)
    layers = [layer_row(node) for node in graph.nodes]
    if depth is not None:
        layers = fold(layers, graph, depth)
    activations = t.activations + graph.input.meta["activations"]
    state_name = optimizer_state_name(optimizer or graph.train.get("optimizer"))
    training = training_estimate(graph, batch, size, activations, OPTIMIZER_STATE[state_name])
    return {
        "network": graph.name,
        "file": graph.source,
        "input": list(graph.input.meta["shape"]),
        "output": list(graph.output.meta["shape"]),
        "dtype": dtype,
        "batch": batch,
        "layer_count": t.layers,
        "params": t.params,
        "buffers": t.buffers,
        "macs": t.macs,
        "flops": t.flops,
        "activations": activations,
        "bytes": {
            "params": t.params * size,
            "buffers": t.buffers * size,
            "activations_per_image": activations * size,
            "training_per_batch": training,
        },
        "optimizer": state_name,
        "policy": POLICY,
        "layers": layers,
    }


def layer_row(node: Node) -> dict:
    meta = node.meta
    return {
        "name": node.name,
        "op": node.op,
        "attrs": {k: list(v) if isinstance(v, tuple) else v for k, v in node.attrs.items()},
        "description": describe(node, show_defaults=True),
        "output": list(meta["shape"]),
        "params": meta["param_count"],
        "params_formula": params_formula(node),
        "buffers": meta["buffer_count"],
        "macs": meta["macs"],
        "flops": meta["flops"],
        "activations": meta["activations"],
        "rf": list(meta["rf"]) if meta.get("rf") else None,
        "jump": list(meta["jump"]) if meta.get("jump") else None,
    }


def params_formula(node: Node) -> str:
    """The count written out as the seed table does: (3*3*3)*64 = 1,728 + 64 bias."""
    params = node.meta["params"]
    if not params:
        return ""
    if node.op in ("conv", "fc", "fused_conv", "fused_fc"):
        out, *fan_in = params["weight"]
        if node.op in ("fc", "fused_fc"):
            in_shape = node.inputs[0].meta["shape"]
            fan = "*".join(str(d) for d in (in_shape[1:] + in_shape[:1] if len(in_shape) == 3 else in_shape))
            text = f"{fan}*{out} = {prod(params['weight']):,}"
        else:
            cin, kh, kw = fan_in
            text = f"({kh}*{kw}*{cin})*{out} = {prod(params['weight']):,}"
        return text + (f" + {out:,} bias" if "bias" in params else "")
    parts = [f"{prod(shape):,} {name}" for name, shape in params.items()]
    return " + ".join(parts)


def fold(layers: list[dict], graph: Graph, depth: int) -> list[dict]:
    """Rows of layers deeper than ``depth`` path segments merged into their block."""
    scopes = graph.meta.get("scopes", {})
    folded: list[dict] = []
    for row in layers:
        parts = row["name"].split("/")
        if len(parts) <= depth:
            folded.append(row)
            continue
        prefix = "/".join(parts[:depth])
        if folded and folded[-1].get("folded") and folded[-1]["name"] == prefix:
            _merge(folded[-1], row)
        else:
            folded.append(_block_row(prefix, scopes.get(prefix, {}), row))
    return folded


def _block_row(prefix: str, scope: dict, first: dict) -> dict:
    block = scope.get("block")
    args = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in scope.get("args", ()))
    description = f"{block}({args})" if block else scope.get("kind", "block")
    row = dict(first, name=prefix, op="block", attrs={}, description=description, params_formula="")
    row.update(folded=True, layers=1)
    return row


def _merge(row: dict, layer: dict) -> None:
    for key in ("params", "buffers", "macs", "flops", "activations"):
        row[key] += layer[key]
    row.update(output=layer["output"], rf=layer["rf"], jump=layer["jump"], layers=row["layers"] + 1)


def optimizer_state_name(optimizer) -> str:
    if optimizer is None:
        return "sgd"
    if isinstance(optimizer, str):
        return optimizer
    name = optimizer["name"]
    return "sgd+momentum" if name == "sgd" and optimizer.get("momentum") else name


def training_estimate(graph: Graph, batch: int, size: int, activations: int, state_per_param: int) -> dict:
    """Bytes for one training step, as the VGG table's footnote reasons:
    every layer output is kept for backward (and gets a gradient of its own
    size at worst), plus weights, their gradients and the optimizer's state."""
    t = totals(graph)
    parts = {
        "activations": batch * activations * size,
        "activation_gradients": batch * activations * size,
        "params": t.params * size,
        "param_gradients": t.params * size,
        "optimizer_state": state_per_param * t.params * size,
        "buffers": t.buffers * size,
    }
    parts["total"] = sum(parts.values())
    return parts

"""Run any cnnc graph in PyTorch with the same weights: the whole-net reference.

Test and benchmark use only (torch is never a runtime dependency). Each op is
the torch.nn.functional call matching cnnc's definition (cnnc/runtime/reference_ops.py).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

ACTIVATIONS = {
    "relu": lambda x, a: F.relu(x),
    "relu6": lambda x, a: F.relu6(x),
    "sigmoid": lambda x, a: torch.sigmoid(x),
    "tanh": lambda x, a: torch.tanh(x),
    "selu": lambda x, a: F.selu(x),
    "leaky_relu": lambda x, a: F.leaky_relu(x, a["alpha"]),
    "elu": lambda x, a: F.elu(x, a["alpha"]),
    "softmax": lambda x, a: F.softmax(x, dim=1),
    "none": lambda x, a: x,
}


def torch_tensors(weights: dict, dtype=torch.float32) -> dict:
    """Leaf tensors: params require grad, BN running stats don't."""
    return {
        layer: {k: torch.tensor(np.asarray(v), dtype=dtype, requires_grad=not k.startswith("running_"))
                for k, v in tensors.items()}
        for layer, tensors in weights.items()
    }  # fmt: skip


def run_torch(graph, x: torch.Tensor, tensors: dict, training: bool = False) -> torch.Tensor:
    values = {graph.input.name: x}
    for node in graph.nodes[1:]:
        inputs = [values[i.name] for i in node.inputs]
        values[node.name] = apply(node, inputs, tensors.get(node.name, {}), training)
    return values[graph.output.name]


def apply(node, inputs, t, training):
    a, x = node.attrs, inputs[0]
    if node.op in ("conv", "fused_conv"):
        y = F.conv2d(x, t["weight"], t.get("bias"), a["stride"], a["pad"], a["dilation"], a["groups"])
        return _fused_tail(node, y, inputs)
    if node.op in ("fc", "fused_fc"):
        return _fused_tail(node, F.linear(x.flatten(1), t["weight"], t.get("bias")), inputs)
    if node.op == "pool":
        return _pool(a, x)
    if node.op in ACTIVATIONS:
        return ACTIVATIONS[node.op](x, a)
    if node.op == "prelu":
        return F.prelu(x, t["slope"])
    if node.op == "maxout":
        return x.reshape(x.shape[0], x.shape[1] // a["k"], a["k"], *x.shape[2:]).amax(dim=2)
    if node.op in ("bn", "fused_bn"):
        mean, var = t["running_mean"], t["running_var"]
        y = F.batch_norm(x, mean, var, t["scale"], t["shift"], training, a["momentum"], a["eps"])
        return _fused_tail(node, y, inputs)
    if node.op == "lrn":
        return F.local_response_norm(x, a["size"], a["alpha"], a["beta"], a["k"])
    if node.op == "dropout":
        return F.dropout(x, a["p"], training)
    if node.op == "flatten":
        return x.flatten(1)
    if node.op == "identity":
        return x
    if node.op == "concat":
        return torch.cat(inputs, dim=1)
    if node.op == "add":
        return inputs[0] + inputs[1]
    if node.op == "slice":
        return x[:, a["start"] : a["stop"]]
    raise NotImplementedError(node.op)


def _fused_tail(node, y, inputs):
    if not node.op.startswith("fused_"):
        return y
    if node.attrs["residual"]:
        y = y + inputs[1]
    return ACTIVATIONS[node.attrs["activation"]](y, node.attrs)


def _pool(a, x):
    if a["global"]:
        if a["mode"] == "max":
            return F.adaptive_max_pool2d(x, 1)
        if a["mode"] == "avg":
            return F.adaptive_avg_pool2d(x, 1)
        return x.pow(2).sum(dim=(2, 3), keepdim=True).sqrt()
    kernel, stride, pad, ceil = a["kernel"], a["stride"], a["pad"], a["ceil"]
    if a["mode"] == "max":
        return F.max_pool2d(x, kernel, stride, pad, ceil_mode=ceil)
    if a["mode"] == "avg":
        return F.avg_pool2d(x, kernel, stride, pad, ceil_mode=ceil, count_include_pad=False)
    assert pad == (0, 0), "torch's lp_pool2d has no padding"
    return F.lp_pool2d(x, 2, kernel, stride, ceil_mode=ceil)

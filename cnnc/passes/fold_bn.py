"""BN folding (inference): a conv or fc whose output only a BN reads absorbs that BN.

With running statistics, bn(y) = (y - mean) * s + shift where
s = scale / sqrt(var + eps), per output channel. For y = W x + b that is
(s W) x + (s (b - mean) + shift): the weights scale by s along the output
channel axis and the layer gains a bias (TVM's FoldScaleAxis, in its simplest
form). The BN disappears; its readers read the conv.
"""

from __future__ import annotations

from ..ir import Graph, Node
from .rewrite import mark_fused, note, only_reader, readers, remove, replace_uses, set_attrs

FOLDABLE = ("conv", "fc")


def fold_bn(graph: Graph) -> bool:
    table = readers(graph)
    folded = []
    for layer in list(graph.nodes):
        bn = only_reader(graph, layer, table) if layer.op in FOLDABLE else None
        if bn is None or bn.op != "bn":
            continue
        if graph.weights is not None:
            fold_weights(graph.weights, layer, bn)
        mark_fused(layer, [layer, bn])
        if bn is graph.output:  # the output is the last node: the layer takes the BN's place
            graph.nodes.remove(layer)
            graph.nodes.append(layer)
        set_attrs(layer, bias=True)
        replace_uses(graph, bn, layer)
        folded.append(bn)
    remove(graph, folded)
    note(graph, "fold_bn", f"{len(folded)} BN folded")
    return bool(folded)


def fold_weights(weights: dict, layer: Node, bn: Node) -> None:
    """New arrays (the caller's may be shared): W' = s W, b' = s (b - mean) + shift."""
    import numpy as np  # only when weights are bound: `cnnc check` never loads numpy

    stats = weights[bn.name]
    scale = stats["scale"] / np.sqrt(stats["running_var"] + bn.attrs["eps"])
    old = weights[layer.name]
    weight = old["weight"] * scale.reshape(-1, *([1] * (old["weight"].ndim - 1)))
    bias = old.get("bias", np.zeros_like(scale))
    weights[layer.name] = {"weight": weight, "bias": (bias - stats["running_mean"]) * scale + stats["shift"]}

"""Vertical fusion (TensorRT's conv + bias + ReLU, TVM's FuseOps): a conv, fc or bn, the
residual add its output feeds, and the activation after them, become one node.

Chains fused, each link the only reader of the one before:
conv -> activation, conv -> add -> activation, and conv -> add; the same
from fc, and from a bn (one that fold_bn left, or any in training, where BN
cannot fold) with ReLU as its only activation.
The fused node computes act(conv(x) + shortcut), the order of a ResNet block
once its BN is folded; it takes the conv's name (so its weights keep their key)
and the place of the chain's last node (by then every input it reads exists).
"""

from __future__ import annotations

from ..ir import Graph, Node
from ..ops.fused import BN_ACTIVATIONS, FUSABLE_ACTIVATIONS
from .rewrite import fused_node, note, only_reader, readers, remove, replace_uses

FUSED_OP = {"conv": "fused_conv", "fc": "fused_fc", "bn": "fused_bn"}


def fuse_vertical(graph: Graph) -> bool:
    count = 0
    for layer in list(graph.nodes):
        if layer.op in FUSED_OP:
            chain = fusable_chain(graph, layer, readers(graph))  # afresh: each fusion rewires readers
            if len(chain) > 1:
                fuse(graph, chain)
                count += 1
    note(graph, "fuse_vertical", f"{count} conv/fc/bn fused with their activation or residual add")
    return bool(count)


def fusable_chain(graph: Graph, layer: Node, table) -> list[Node]:
    """[layer, add?, activation?]: what can fold into ``layer``'s kernel."""
    chain = [layer]
    after = only_reader(graph, layer, table)
    if after is not None and after.op == "add" and after.inputs[0] is not after.inputs[1]:
        chain.append(after)
        after = only_reader(graph, after, table)
    if after is not None and after.op in (BN_ACTIVATIONS if layer.op == "bn" else FUSABLE_ACTIVATIONS):
        chain.append(after)
    return chain


def fuse(graph: Graph, chain: list[Node]) -> None:
    layer, last = chain[0], chain[-1]
    add = next((n for n in chain if n.op == "add"), None)
    activation = chain[-1] if chain[-1].op in FUSABLE_ACTIVATIONS else None
    attrs = {**layer.attrs, "activation": activation.op if activation else "none", "residual": add is not None}
    if activation is not None and "alpha" in activation.attrs:
        attrs["alpha"] = activation.attrs["alpha"]
    inputs = list(layer.inputs)
    if add is not None:
        inputs.append(add.inputs[1] if add.inputs[0] is layer else add.inputs[0])  # add commutes
    node = fused_node(layer.name, FUSED_OP[layer.op], inputs, attrs, chain)
    weights = graph.weights.pop(layer.name, None) if graph.weights is not None else None
    graph.nodes[graph.nodes.index(last)] = node
    replace_uses(graph, last, node)
    remove(graph, chain)
    if weights is not None:
        graph.weights[node.name] = weights

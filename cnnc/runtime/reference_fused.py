"""Reference forward of the ops passes create, built from the unfused ones.

fused_conv, fused_fc and fused_bn compute act(base(x) + residual): the order
a ResNet block has (conv, bn folded in or fused, add, relu). A slice is a view of its input's
channels, as the zero-copy slice a backend makes.
"""

from __future__ import annotations

from .reference_ops import ELEMENTWISE, FORWARD, forward


def _fused(base: str):
    def run(node, inputs, tensors, ctx):
        out = FORWARD[base](node, inputs[:1], tensors, ctx)  # the base reads only the attrs it knows
        if node.attrs["residual"]:
            out = out + inputs[1]
        activation = node.attrs["activation"]
        if activation != "none":
            out = ELEMENTWISE[activation](out, node.attrs).astype(out.dtype)
        return out

    return run


forward("fused_conv")(_fused("conv"))
forward("fused_fc")(_fused("fc"))
forward("fused_bn")(_fused("bn"))


@forward("slice")
def channel_slice(node, inputs, tensors, ctx):
    return inputs[0][:, node.attrs["start"] : node.attrs["stop"]]

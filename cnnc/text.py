"""How nodes and numbers are written for people: shared by reports and renders."""

from __future__ import annotations

from .ir import Node
from .ops import fmt_shape

# The attribute a one-argument op shows: `dropout 0.5`, `maxout 2`, `lrn 5`.
SHOWN_ATTR = {"dropout": "p", "maxout": "k", "lrn": "size"}
# Ops the passes make by fusing a conv, fc or bn with what followed it.
FUSED_BASE = {"fused_conv": "conv", "fused_fc": "fc", "fused_bn": "bn"}


def describe(node: Node, show_defaults: bool = False) -> str:
    """The op and its key attributes as written: conv 3x3/64 s2 p1, pool max 3x3 s2.

    With ``show_defaults`` stride and padding are always given (conv 3x3/64 s1
    p1, the report's style); otherwise attributes at their default are left out.
    """
    a = node.attrs
    if node.op in FUSED_BASE:  # the base op as written, then what the pass fused into it
        base = Node(node.name, FUSED_BASE[node.op], node.inputs, a, node.meta)
        return describe(base, show_defaults) + (" + add" if a["residual"] else "") + fused_activation(a)
    if node.op == "slice":
        return f"slice {a['start']}:{a['stop']}"
    if node.op == "conv":
        text = f"conv {fmt_shape(a['kernel'])}/{a['out_channels']}"
        for key, name, default in (("s", "stride", (1, 1)), ("p", "pad", (0, 0)), ("d", "dilation", (1, 1))):
            if a[name] != default or (show_defaults and name != "dilation"):
                text += f" {key}{short(a[name])}"
        return text + (f" g{a['groups']}" if a["groups"] != 1 else "") + ("" if a["bias"] else " nobias")
    if node.op == "pool":
        if a["global"]:
            return f"pool {a['mode']} global"
        text = f"pool {a['mode']} {fmt_shape(a['kernel'])} s{short(a['stride'])}"
        text += f" p{short(a['pad'])}" if a["pad"] != (0, 0) else ""
        return text + (" ceil" if a["ceil"] else "")
    if node.op == "fc":
        return f"fc {a['units']}" + ("" if a["bias"] else " nobias")
    if node.op == "input":
        return f"input {fmt_shape(a['shape'])}"
    if node.op in SHOWN_ATTR:
        return f"{node.op} {a[SHOWN_ATTR[node.op]]:g}"
    if node.op in ("leaky_relu", "elu"):
        return f"{node.op} {a['alpha']:g}"
    return node.op


def fused_activation(attrs) -> str:
    if attrs["activation"] == "none":
        return ""
    alpha = f" {attrs['alpha']:g}" if "alpha" in attrs else ""
    return f" + {attrs['activation']}{alpha}"


def short(pair) -> str:
    """(2, 2) -> '2', (1, 2) -> '1x2'."""
    return str(pair[0]) if pair[0] == pair[1] else fmt_shape(pair)


def human(n: float) -> str:
    """138357544 -> 138.4M; exact figures are printed beside it."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(n)


def human_bytes(n: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"

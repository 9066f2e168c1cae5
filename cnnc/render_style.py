"""How renders look: the palette per op family, cluster styles and the HTML-like labels.

Fills are light so black text stays legible on them; each family's border is
a darker shade of its fill, so the colour still reads in a small picture.
"""

from __future__ import annotations

from html import escape

from .text import human

# op family: (fill, border)
FAMILY_COLOURS = {
    "conv": ("#cfe0fc", "#2f5fa7"),
    "pool": ("#d3f0d3", "#2e7d32"),
    "dense": ("#fddcbc", "#c0621a"),
    "activation": ("#fff3b0", "#a68b00"),
    "norm": ("#ead9f7", "#7b3fa0"),
    "structure": ("#e4e4e4", "#555555"),
}
BLOCK_COLOUR = ("#cdeeee", "#22787d")  # a collapsed block use (detail="block")
BADGE_COLOUR = "#22787d"

GRAPH_ATTRS = {
    "fontname": "Helvetica",
    "fontsize": "11",
    "labelloc": "t",
    "nodesep": "0.3",
    "ranksep": "0.35",
    "pad": "0.3",
    "bgcolor": "white",
    "newrank": "true",  # rank constraints across clusters: the input's readers side by side at the top
}

CLUSTER_STYLES = {
    "block": {"style": "rounded,filled", "fillcolor": "#f3f5f8", "color": "#8a9bb0", "labeljust": "l"},
    "concat": {"style": "rounded,dashed", "color": "#7a7a7a", "labeljust": "l"},
    "branch": {"style": "rounded,filled", "fillcolor": "#fbfbf7", "color": "#b8b8b0", "labeljust": "l"},
    "residual": {"style": "rounded,filled", "fillcolor": "#fff6ee", "color": "#c98a5e", "labeljust": "l"},
    "shortcut": {"style": "rounded,dashed,filled", "fillcolor": "#fdebdc", "color": "#c98a5e", "labeljust": "l"},
}
for _style in CLUSTER_STYLES.values():
    _style.update(fontname="Helvetica", fontsize="10", fontcolor="#333333", penwidth="1.2")


def layer_label(text: str, shape: str) -> str:
    return f'<<b>{escape(text)}</b><br/><font point-size="9" color="#333333">{shape}</font>>'


def block_label(call: str, shape: str, params: int, macs: int, count: int) -> str:
    """The block call, a ×N badge when a repeat made N identical uses, its shape and totals."""
    head = f"<td><b>{escape(call)}</b></td>"
    if count > 1:
        badge = f'<td bgcolor="{BADGE_COLOUR}" style="rounded"><font color="white"><b> ×{count} </b></font></td>'
        head = f'<td><table border="0" cellspacing="0" cellpadding="1"><tr>{head}<td> </td>{badge}</tr></table></td>'
    each = " each" if count > 1 else ""
    return (
        '<<table border="0" cellborder="0" cellspacing="1" cellpadding="1">'
        f"<tr>{head}</tr>"
        f'<tr><td><font point-size="9" color="#333333">{shape}</font></td></tr>'
        f'<tr><td><font point-size="9" color="#333333">{human(params)} params · {human(macs)} MACs{each}</font>'
        "</td></tr></table>>"
    )


def legend(blocks: bool) -> str:
    """One cell per op family in its colours (and the block colour when blocks are drawn)."""
    colours = dict(FAMILY_COLOURS, **({"block": BLOCK_COLOUR} if blocks else {}))
    cells = "".join(
        f'<td bgcolor="{fill}" color="{border}" border="1" style="rounded"><font point-size="9"> {name} </font></td>'
        for name, (fill, border) in colours.items()
    )
    return f'<table border="0" cellspacing="4" cellpadding="3"><tr>{cells}</tr></table>'


def title_label(graph, totals, legend_table: str) -> str:
    """The title: network, input and output shapes, totals, and the colour legend."""
    shape_in = "x".join(map(str, graph.input.meta["shape"]))
    shape_out = "x".join(map(str, graph.output.meta["shape"]))
    return (
        '<<table border="0" cellspacing="2" cellpadding="0">'
        f'<tr><td><font point-size="14"><b>{escape(graph.name)}</b></font>'
        f'<font point-size="12">   input {shape_in} → {shape_out}</font></td></tr>'
        f'<tr><td><font point-size="10" color="#333333">{totals.layers} layers · {totals.params:,} params '
        f"({human(totals.params)}) · {totals.macs:,} MACs ({human(totals.macs)})</font></td></tr>"
        f"<tr><td>{legend_table}</td></tr></table>>"
    )

"""Pictures of a graph with Graphviz: a node per layer (or per block), clusters for structure.

The input is drawn in the title, not as a node, so the picture has exactly one
node per layer (``len(graph.layers())``); an invisible anchor, absent from the
SVG, sends the input's edges. Clusters are the name scopes the lowering
recorded in ``graph.meta["scopes"]``: block uses, concat branches (with the
concat), residual bodies (with their add) and shortcuts. ``detail="block"``
draws each outermost block use as one node, and the consecutive uses a
``repeat`` made of the same block with the same arguments once, with a ``×N``
badge. Colours and labels are in render_style.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import graphviz

from .analysis import totals
from .errors import CnncError
from .ir import Graph, Node
from .ops import OPS, fmt_shape
from .render_style import (
    BLOCK_COLOUR,
    CLUSTER_STYLES,
    FAMILY_COLOURS,
    GRAPH_ATTRS,
    block_label,
    layer_label,
    legend,
    title_label,
)
from .text import describe

FORMATS = (".svg", ".png", ".pdf", ".dot")
DETAILS = ("layer", "block")
RANKDIRS = ("TB", "LR")
INSTALL_HINT = (
    "install Graphviz: `sudo apt-get install graphviz` (Debian, Ubuntu) or `brew install graphviz` (macOS); "
    "`-o NAME.dot` writes the DOT source without it"
)


@dataclass
class Unit:
    """One drawn node: a layer, or a block use (a run of them when repeated)."""

    id: str
    nodes: list[Node]  # every layer it stands for, in graph order
    clusters: list[str]  # scope paths it is drawn inside, outermost first
    block: str | None = None  # the outermost block scope it collapses
    count: int = 1  # block uses it stands for (×N)
    edges_in: dict = field(default_factory=dict)


def to_dot(graph: Graph, detail: str = "layer", rankdir: str = "TB") -> graphviz.Digraph:
    if detail not in DETAILS:
        raise CnncError(f"unknown detail '{detail}': expected {' or '.join(DETAILS)}")
    if rankdir not in RANKDIRS:
        raise CnncError(f"unknown rankdir '{rankdir}': expected {' or '.join(RANKDIRS)}")
    scopes = graph.meta.get("scopes", {})
    units = layer_units(graph, scopes) if detail == "layer" else block_units(graph, scopes)
    dot = graphviz.Digraph(graph.name, graph_attr={**GRAPH_ATTRS, "rankdir": rankdir})
    dot.attr(label=title_label(graph, totals(graph), legend(detail == "block")))
    dot.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", fontsize="11", margin="0.14,0.05")
    dot.attr("edge", fontname="Helvetica", fontsize="9", fontcolor="#555555", color="#777777", arrowsize="0.6")
    draw_clusters(dot, units, scopes)
    draw_input(dot, graph, units)
    for unit in units:
        for source, shape in unit.edges_in.items():
            dot.edge(source, unit.id, label=f" {fmt_shape(shape)} ")
    return dot


def render(graph: Graph, output_path: str | Path, detail: str = "layer", rankdir: str = "TB") -> Path:
    """Write the picture; the suffix picks the format (.svg, .png, .pdf, or .dot for the source)."""
    path = Path(output_path)
    suffix = output_format(path)
    dot = to_dot(graph, detail, rankdir)
    if suffix == ".dot":
        data = dot.source.encode()
    else:
        try:
            data = dot.pipe(format=suffix[1:])
        except graphviz.ExecutableNotFound:
            raise CnncError(
                f"cannot render '{path}': the Graphviz `dot` program is not installed (or not on the PATH)",
                hint=INSTALL_HINT,
            ) from None
        except graphviz.CalledProcessError as error:
            stderr = (error.stderr or b"").decode(errors="replace").strip()
            raise CnncError(f"internal error: Graphviz `dot` failed on '{path}': {stderr}") from None
    try:
        path.write_bytes(data)
    except OSError as error:
        raise CnncError(f"cannot write '{path}': {error.strerror or error}") from None
    return path


def output_format(path: Path) -> str:
    """The format a path asks for, by suffix; an unknown one or a missing directory is an error."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise CnncError(
            f"cannot render to '{path}': unknown format '{suffix or '(no suffix)'}'",
            hint=f"name the output with one of {', '.join(FORMATS)}",
        )
    if not path.parent.is_dir():
        raise CnncError(f"cannot write '{path}': the directory '{path.parent}' does not exist")
    return suffix


# --- units: what becomes a drawn node ---------------------------------------


def prefixes(name: str, scopes: dict) -> list[str]:
    """The scope paths a layer lies in, outermost first; a concat or add lies in its own."""
    parts = name.split("/")
    paths = ("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return [p for p in paths if p in scopes and (p != name or scopes[p]["kind"] in ("concat", "residual"))]


def layer_units(graph: Graph, scopes: dict) -> list[Unit]:
    units = [Unit(node.name, [node], prefixes(node.name, scopes)) for node in graph.layers()]
    connect(units, graph)
    return units


def block_units(graph: Graph, scopes: dict) -> list[Unit]:
    units: list[Unit] = []
    for node in graph.layers():
        paths = prefixes(node.name, scopes)
        block = next((p for p in paths if scopes[p]["kind"] == "block"), None)
        if block is None:
            units.append(Unit(node.name, [node], paths))
        elif units and units[-1].block == block:
            units[-1].nodes.append(node)
        elif units and repeats(scopes, units[-1], block):
            units[-1].nodes.append(node)
            units[-1].block, units[-1].count = block, units[-1].count + 1
        else:
            units.append(Unit(block, [node], paths[: paths.index(block)], block))
    connect(units, graph)
    return units


def repeats(scopes: dict, unit: Unit, block: str) -> bool:
    """Whether ``block`` is the next iteration of the repeat that made ``unit``'s last block use."""
    if unit.block is None:
        return False
    last, this = scopes[unit.block], scopes[block]
    if last["repeat"] is None or this["repeat"] is None:
        return False
    same = (last["block"], last["args"], last["repeat"][0]) == (this["block"], this["args"], this["repeat"][0])
    return same and this["repeat"][1] == last["repeat"][1] + 1


def connect(units: list[Unit], graph: Graph) -> None:
    """Edges between units, each labelled with the shape it carries (the input's from its anchor)."""
    owner = {id(node): unit for unit in units for node in unit.nodes}
    for unit in units:
        for node in unit.nodes:
            for source in node.inputs:
                origin = graph.input.name if source is graph.input else owner[id(source)].id
                if origin != unit.id:
                    unit.edges_in.setdefault(origin, source.meta["shape"])


# --- drawing -----------------------------------------------------------------


def draw_input(dot: graphviz.Digraph, graph: Graph, units: list[Unit]) -> None:
    """The input is in the title; an invisible anchor (absent from SVG) sends its edges.

    Layers that read only the input start level at the top, in source order.
    """
    dot.node(graph.input.name, label="", shape="point", style="invis", width="0", height="0")
    sources = [unit.id for unit in units if list(unit.edges_in) == [graph.input.name]]
    if len(sources) > 1:
        with dot.subgraph() as top:
            top.attr(rank="same")
            for source in sources:
                top.node(source)


def draw_clusters(dot: graphviz.Digraph, units: list[Unit], scopes: dict, depth: int = 0) -> None:
    """Draw units in nested clusters, grouping those that share the next scope path."""
    i = 0
    while i < len(units):
        path = units[i].clusters[depth] if len(units[i].clusters) > depth else None
        if path is None:
            draw_unit(dot, units[i], scopes)
            i += 1
            continue
        j = i
        while j < len(units) and len(units[j].clusters) > depth and units[j].clusters[depth] == path:
            j += 1
        with dot.subgraph(name=f"cluster_{path}") as cluster:
            cluster.attr(label=cluster_label(path, scopes[path]), **CLUSTER_STYLES[scopes[path]["kind"]])
            draw_clusters(cluster, units[i:j], scopes, depth + 1)
        i = j


def cluster_label(path: str, scope: dict) -> str:
    last = path.rsplit("/", 1)[-1]
    if scope["kind"] != "block":
        return last
    text = f"{last} = {call_text(scope)}"
    if scope.get("repeat"):
        _, iteration, count = scope["repeat"]
        text += f"   (repeat {iteration + 1} of {count})"
    return text


def call_text(scope: dict) -> str:
    return f"{scope['block']}({', '.join(str(a) for a in scope['args'])})"


def draw_unit(dot: graphviz.Digraph, unit: Unit, scopes: dict) -> None:
    """A layer coloured by its op family, or a block use with its totals (per use when ×N)."""
    shape = fmt_shape(unit.nodes[-1].meta["shape"])
    params = sum(n.meta["param_count"] for n in unit.nodes) // unit.count
    macs = sum(n.meta["macs"] for n in unit.nodes) // unit.count
    tooltip = f"{unit.id}: {shape}, {params:,} params, {macs:,} MACs"
    if unit.block is None:
        fill, border = FAMILY_COLOURS[OPS[unit.nodes[0].op].family]
        node = unit.nodes[0]
        label = layer_label("+" if node.op == "add" else describe(node), shape)
    else:
        fill, border = BLOCK_COLOUR
        label = block_label(call_text(scopes[unit.block]), shape, params, macs, unit.count)
        if unit.count > 1:
            tooltip = f"{unit.id} and the {unit.count - 1} uses after it, each {tooltip.split(': ', 1)[1]}"
    dot.node(unit.id, label=label, fillcolor=fill, color=border, tooltip=tooltip)

"""The Python entry points: .cnn file or text in, analysed graph IR out."""

from __future__ import annotations

from pathlib import Path

from .analysis import annotate
from .errors import CnncError, did_you_mean
from .ir import Graph
from .lower import lower_network
from .scope import Program, load_program, load_source


class Network(Graph):
    """A compiled network: the analysed graph IR plus what users do with it."""

    def report(self, batch: int = 1, dtype: str = "float32", depth: int | None = None, optimizer=None) -> dict:
        """The cost report as data (the JSON schema of docs/report.md)."""
        from .report import build_report

        return build_report(self, batch, dtype, depth, optimizer)

    def render(self, output: str, detail: str = "layer", rankdir: str = "TB"):
        """Draw the graph to an .svg, .png, .pdf or .dot file."""
        from .render import render

        return render(self, output, detail, rankdir)


def load(path: str | Path, network: str | None = None, input_shape=None, strict: bool = False) -> Network:
    """The one network of a file (or the one named), shapes and counts filled in."""
    graphs = load_all(path, network, input_shape, strict)
    if len(graphs) > 1:
        names = ", ".join(g.name for g in graphs)
        raise CnncError(f"{path} defines several networks ({names}); name one with network=")
    return graphs[0]


def load_all(path: str | Path, network: str | None = None, input_shape=None, strict: bool = False) -> list[Network]:
    return compile_program(load_program(path), network, input_shape, strict)


def loads(
    text: str, network: str | None = None, input_shape=None, strict: bool = False, file: str = "<string>"
) -> Graph:
    """Like load, from source text."""
    graphs = compile_program(load_source(text, file), network, input_shape, strict)
    if len(graphs) > 1:
        raise CnncError(f"{file} defines several networks; name one with network=")
    return graphs[0]


def compile_program(program: Program, network: str | None, input_shape, strict: bool) -> list[Network]:
    networks = program.networks
    if network is not None:
        networks = [n for n in networks if n.name == network]
        if not networks:
            names = [n.name for n in program.networks]
            hint = did_you_mean(network, names) or (f"it has: {', '.join(names)}" if names else None)
            raise CnncError(f"{program.root}: no network named '{network}'", None, hint)
    elif not networks:
        raise CnncError(f"{program.root}: defines no network", None, "add `network NAME { input CxHxW ... }`")
    graphs = []
    for net in networks:
        lowered = lower_network(program, net, input_shape)
        graph = Network(lowered.name, lowered.source, lowered.nodes, lowered.train, lowered.meta, lowered.weights)
        graph.meta["warnings"] = annotate(graph, strict)
        graphs.append(graph)
    return graphs


def parse_shape(text: str) -> tuple[int, ...]:
    """'3x224x224' -> (3, 224, 224), for --input."""
    parts = text.lower().split("x")
    if len(parts) not in (1, 3) or not all(p.isascii() and p.isdigit() and int(p) > 0 for p in parts):
        raise CnncError(f"bad input shape '{text}': expected CxHxW with positive integers, like 3x224x224")
    return tuple(int(p) for p in parts)

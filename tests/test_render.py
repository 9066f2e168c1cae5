"""cnnc render: a node per layer, clusters, colours, the x N badge, formats, and no `dot`.

The input is drawn in the title, not as a node: an SVG's nodes (each a
``<g class="node">`` whose ``<title>`` is the node id) are exactly the IR's
layers, ``graph.layers()``, one to one by name.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import cnnc
from cnnc.errors import CnncError
from cnnc.ops import OPS
from cnnc.render import render, to_dot
from cnnc.render_style import BLOCK_COLOUR, FAMILY_COLOURS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SVG = "{http://www.w3.org/2000/svg}"

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz dot program is not installed")

# ResNet-152 (torchvision's layout): 3, 8, 36 and 3 bottlenecks, the first of each stage a projection.
RESNET152 = """
block bottleneck(c, s) {
  residual { conv 1x1/c nobias; bn; relu; conv 3x3/c stride s pad 1 nobias; bn; relu; conv 1x1/(4*c) nobias; bn }
  shortcut { conv 1x1/(4*c) stride s nobias; bn }
  relu
}
block plain(c) {
  residual { conv 1x1/c nobias; bn; relu; conv 3x3/c pad 1 nobias; bn; relu; conv 1x1/(4*c) nobias; bn }
  relu
}
network resnet152 {
  input 3x224x224
  conv 7x7/64 stride 2 pad 3 nobias; bn; relu
  pool max 3x3 stride 2 pad 1
  bottleneck(64, 1); repeat 2 { plain(64) }
  bottleneck(128, 2); repeat 7 { plain(128) }
  bottleneck(256, 2); repeat 35 { plain(256) }
  bottleneck(512, 2); repeat 2 { plain(512) }
  pool avg global
  fc 1000
}
"""

# One layer of every op family, and a residual with an identity shortcut reading the input.
EVERY_FAMILY = """
network every {
  input 8x16x16
  residual { conv 3x3/8 pad 1; bn; relu }
  pool max 2x2
  dropout 0.5
  fc 10
}
"""


def svg_node_titles(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if g.get("class") == "node"]


@needs_dot
def test_googlenet_svg_has_one_node_per_layer(tmp_path):
    graph = cnnc.load(EXAMPLES / "googlenet.cnn")
    out = render(graph, tmp_path / "g.svg")
    titles = svg_node_titles(out)
    assert len(titles) == len(graph.layers()) == 142
    assert sorted(titles) == sorted(node.name for node in graph.layers())  # the input is not a node


@needs_dot
@pytest.mark.parametrize("detail", ["layer", "block"])
@pytest.mark.parametrize("stem", ["vgg16", "googlenet", "resnet18", "inception_naive"])
def test_every_layer_or_block_is_drawn_once(tmp_path, stem, detail):
    graph = cnnc.load(EXAMPLES / f"{stem}.cnn")
    titles = svg_node_titles(render(graph, tmp_path / "n.svg", detail))
    if detail == "layer":
        assert len(titles) == len(graph.layers())
    else:  # these examples repeat no block use: one node per block use, one per layer outside blocks
        scopes = graph.meta["scopes"]
        assert sorted(titles) == sorted({outermost_block_or_name(n.name, scopes) for n in graph.layers()})


def outermost_block_or_name(name: str, scopes: dict) -> str:
    parts = name.split("/")
    paths = ["/".join(parts[:i]) for i in range(1, len(parts))]
    return next((p for p in paths if scopes.get(p, {}).get("kind") == "block"), name)


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF-")])
def test_png_and_pdf_start_with_their_magic_bytes(tmp_path, suffix, magic):
    out = render(cnnc.load(EXAMPLES / "googlenet.cnn"), tmp_path / f"g{suffix}")
    assert out.read_bytes().startswith(magic)


def test_dot_source_is_written_without_the_dot_program(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = render(cnnc.load(EXAMPLES / "resnet18.cnn"), tmp_path / "r.dot")
    assert out.read_text().startswith("digraph resnet18 {")


def test_svg_without_the_dot_program_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(CnncError) as error:
        render(cnnc.load(EXAMPLES / "resnet18.cnn"), tmp_path / "r.svg")
    text = str(error.value)
    assert "`dot` program is not installed" in text
    assert "apt-get install graphviz" in text and "brew install graphviz" in text and ".dot" in text
    assert not (tmp_path / "r.svg").exists()


@pytest.mark.parametrize("name", ["g.jpg", "g", "missing/g.svg"])
def test_unknown_suffix_or_missing_directory_is_an_error(tmp_path, name):
    with pytest.raises(CnncError, match="cannot (render|write)"):
        render(cnnc.load(EXAMPLES / "vgg16.cnn"), tmp_path / name)


def test_unwritable_output_is_an_error(tmp_path):
    (tmp_path / "taken.dot").mkdir()
    with pytest.raises(CnncError, match="cannot write"):
        render(cnnc.load(EXAMPLES / "vgg16.cnn"), tmp_path / "taken.dot")


def test_bad_detail_or_rankdir_is_an_error():
    graph = cnnc.load(EXAMPLES / "vgg16.cnn")
    with pytest.raises(CnncError, match="unknown detail"):
        to_dot(graph, detail="op")
    with pytest.raises(CnncError, match="unknown rankdir"):
        to_dot(graph, rankdir="BT")


def test_block_detail_draws_each_repeat_once_with_its_count():
    source = to_dot(cnnc.loads(RESNET152), detail="block").source
    calls = re.findall(r"<b>((?:bottleneck|plain)\([^)]*\))</b>", source)
    assert calls == [
        "bottleneck(64, 1)", "plain(64)", "bottleneck(128, 2)", "plain(128)",
        "bottleneck(256, 2)", "plain(256)", "bottleneck(512, 2)", "plain(512)",
    ]  # fmt: skip
    assert re.findall(r"×(\d+)", source) == ["2", "7", "35", "2"]
    assert "cluster" not in source  # blocks are nodes now, not clusters
    stem_and_head = ["conv1", "bn1", "relu1", "pool1", "pool2", "fc1"]
    nodes = re.findall(r"^\t(\"?[\w/]+\"?) \[label=<", source, re.M)  # not the input's anchor
    assert sorted(nodes) == sorted(
        stem_and_head
        + ["bottleneck1", "plain1", "bottleneck2", "plain3", "bottleneck3", "plain10", "bottleneck4", "plain45"]
    )
    assert "pool1 -> bottleneck1" in source and "bottleneck1 -> plain1" in source
    assert "plain1 -> bottleneck2" in source  # plain2 is drawn as plain1, ×2


def test_block_detail_keeps_uses_made_by_separate_statements_apart():
    graph = cnnc.loads(
        "block b(c) { conv 3x3/c pad 1; relu }\nnetwork t { input 3x8x8\n b(4); b(4); repeat 1 { b(4) } }"
    )
    source = to_dot(graph, detail="block").source
    assert source.count("<b>b(4)</b>") == 3
    assert "×" not in source


def test_layer_detail_has_clusters_for_blocks_branches_residuals_and_shortcuts():
    source = to_dot(cnnc.load(EXAMPLES / "googlenet.cnn")).source
    assert 'subgraph cluster_inception1 {\n\t\tcolor="#8a9bb0"' in source
    assert 'label="inception1 = inception(64, 96, 128, 16, 32, 32)"' in source
    for branch in (1, 2, 3, 4):
        assert f'subgraph "cluster_inception1/concat1/branch{branch}"' in source
    source = to_dot(cnnc.load(EXAMPLES / "resnet18.cnn")).source
    assert 'subgraph "cluster_basic1/residual1"' in source
    assert 'subgraph "cluster_down1/residual1/shortcut"' in source
    body = source.split('subgraph "cluster_down1/residual1" {')[1].split("subgraph")[0]
    assert '"down1/residual1/conv1"' in body and '"down1/residual1/bn2"' in body


def test_every_op_family_has_its_own_colour():
    fills = [fill for fill, _ in FAMILY_COLOURS.values()] + [BLOCK_COLOUR[0]]
    assert set(FAMILY_COLOURS) == {op.family for op in OPS.values()}
    assert len(set(fills)) == len(fills)
    graph = cnnc.loads(EVERY_FAMILY)
    source = to_dot(graph).source
    for node in graph.layers():
        fill, border = FAMILY_COLOURS[OPS[node.op].family]
        line = next(line for line in source.splitlines() if re.match(rf'\t+"?{node.name}"? \[label=', line))
        assert f'fillcolor="{fill}"' in line and f'color="{border}"' in line, node.name
    assert {OPS[n.op].family for n in graph.layers()} == set(FAMILY_COLOURS)
    for fill, _ in FAMILY_COLOURS.values():  # the legend in the title
        assert f'<td bgcolor="{fill}"' in source


def test_labels_name_the_op_its_key_attributes_and_the_shape():
    source = to_dot(cnnc.load(EXAMPLES / "googlenet.cnn")).source
    assert "<b>conv 7x7/64 s2 p3</b>" in source and "64x112x112" in source
    assert "<b>pool max 3x3 s2 ceil</b>" in source and "<b>lrn 5</b>" in source
    assert "<b>fc 1000</b>" in source and "<b>concat</b>" in source
    assert 'conv1 -> relu1 [label=" 64x112x112 "]' in source
    assert "<b>+</b>" in to_dot(cnnc.load(EXAMPLES / "resnet18.cnn")).source


def test_the_input_reaches_its_readers_from_an_invisible_anchor():
    source = to_dot(cnnc.loads(EVERY_FAMILY)).source
    assert 'input [label="" height=0 shape=point style=invis width=0]' in source
    assert 'input -> "residual1/conv1" [label=" 8x16x16 "]' in source
    assert 'input -> residual1 [label=" 8x16x16 "]' in source  # the identity shortcut


@needs_dot
def test_cli_render_writes_the_file_and_prints_its_path(tmp_path):
    out = tmp_path / "g.svg"
    done = subprocess.run(
        [sys.executable, "-m", "cnnc", "render", str(EXAMPLES / "googlenet.cnn"), "-o", str(out), "--rankdir", "LR"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    assert len(svg_node_titles(out)) == 142


def test_cli_render_defaults_to_the_network_name_in_the_current_directory(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("the Graphviz dot program is not installed")
    done = subprocess.run(
        [sys.executable, "-m", "cnnc", "render", str(EXAMPLES / "vgg16.cnn"), "--detail", "block"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "vgg16.svg" and (tmp_path / "vgg16.svg").exists()


def test_cli_render_without_dot_fails_clearly_and_dot_output_still_works(tmp_path):
    env = {"PATH": str(tmp_path / "empty")}
    args = [sys.executable, "-m", "cnnc", "render", str(EXAMPLES / "vgg16.cnn"), "-o"]
    done = subprocess.run([*args, str(tmp_path / "v.png")], capture_output=True, text=True, env=env)
    assert done.returncode == 1 and "apt-get install graphviz" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([*args, str(tmp_path / "v.dot")], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "v.dot").read_text().startswith("digraph vgg16 {")


def test_cli_render_refuses_a_bad_suffix_before_compiling(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "cnnc", "render", str(EXAMPLES / "resnet18.cnn"), "-o", str(tmp_path / "r.jpg")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot render to") and "warning" not in done.stderr

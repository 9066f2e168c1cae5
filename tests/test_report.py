"""cnnc report: the seed's VGG table, totals, receptive fields, folding, formats."""

import csv
import io
import json
import subprocess
import sys

import pytest

import cnnc
from cnnc.report import build_report
from cnnc.report_format import human, to_csv, to_json, to_markdown, to_text
from tests.conftest import ROOT, compile_text

# The seed notes' VGG-16 table (second note): memory and params per row.
SEED_VGG_TABLE = [
    ("conv", 224 * 224 * 64, "3.2M", (3 * 3 * 3) * 64),
    ("conv", 224 * 224 * 64, "3.2M", (3 * 3 * 64) * 64),
    ("pool", 112 * 112 * 64, "800K", 0),
    ("conv", 112 * 112 * 128, "1.6M", (3 * 3 * 64) * 128),
    ("conv", 112 * 112 * 128, "1.6M", (3 * 3 * 128) * 128),
    ("pool", 56 * 56 * 128, "400K", 0),
    ("conv", 56 * 56 * 256, "800K", (3 * 3 * 128) * 256),
    ("conv", 56 * 56 * 256, "800K", (3 * 3 * 256) * 256),
    ("conv", 56 * 56 * 256, "800K", (3 * 3 * 256) * 256),
    ("pool", 28 * 28 * 256, "200K", 0),
    ("conv", 28 * 28 * 512, "400K", (3 * 3 * 256) * 512),
    ("conv", 28 * 28 * 512, "400K", (3 * 3 * 512) * 512),
    ("conv", 28 * 28 * 512, "400K", (3 * 3 * 512) * 512),
    ("pool", 14 * 14 * 512, "100K", 0),
    ("conv", 14 * 14 * 512, "100K", (3 * 3 * 512) * 512),
    ("conv", 14 * 14 * 512, "100K", (3 * 3 * 512) * 512),
    ("conv", 14 * 14 * 512, "100K", (3 * 3 * 512) * 512),
    ("pool", 7 * 7 * 512, "25K", 0),
    ("fc", 4096, "4096", 7 * 7 * 512 * 4096),
    ("fc", 4096, "4096", 4096 * 4096),
    ("fc", 1000, "1000", 4096 * 1000),
]


@pytest.fixture(scope="module")
def vgg():
    return cnnc.load(ROOT / "examples" / "vgg16.cnn").report()


def test_vgg16_matches_the_seed_table_row_for_row(vgg):
    rows = [r for r in vgg["layers"] if r["op"] in ("conv", "pool", "fc")]
    assert vgg["layers"][0]["activations"] == 224 * 224 * 3  # "Input: memory 150K, params 0"
    assert len(rows) == len(SEED_VGG_TABLE)
    for row, (op, memory, _, weights) in zip(rows, SEED_VGG_TABLE, strict=True):
        assert row["op"] == op
        assert row["activations"] == memory
        bias = row["output"][0] if op != "pool" else 0
        assert row["params"] == weights + bias
        if weights:
            assert row["params_formula"].split(" + ")[0].endswith(f"= {weights:,}")


def test_vgg16_rows_show_the_products_as_the_seed_does(vgg):
    formulas = [r["params_formula"] for r in vgg["layers"] if r["params_formula"]]
    assert formulas[0] == "(3*3*3)*64 = 1,728 + 64 bias"
    assert formulas[-3] == "7*7*512*4096 = 102,760,448 + 4,096 bias"
    assert formulas[-1] == "4096*1000 = 4,096,000 + 1,000 bias"


def test_vgg16_totals_and_json_sums(vgg):
    assert vgg["params"] == 138_357_544
    assert vgg["macs"] == 15_470_264_320
    data = json.loads(to_json(vgg))
    for key in ("params", "macs", "flops", "buffers"):
        assert sum(layer[key] for layer in data["layers"]) == data[key]
    assert sum(layer["activations"] for layer in data["layers"]) == data["activations"]
    assert set(data) >= {"network", "input", "output", "params", "buffers", "macs", "flops", "activations", "layers"}
    assert set(data["layers"][1]) >= {"name", "op", "attrs", "output", "params", "macs", "flops", "activations"}


def test_vgg16_receptive_fields(vgg):
    convs = [r for r in vgg["layers"] if r["op"] == "conv"]
    pools = [r for r in vgg["layers"] if r["op"] == "pool"]
    assert convs[-1]["rf"] == [196, 196] and convs[-1]["jump"] == [16, 16]
    assert pools[-1]["rf"] == [212, 212] and pools[-1]["jump"] == [32, 32]


def test_receptive_field_takes_the_largest_path_through_concat():
    graph = compile_text(
        """
        network t {
          input 3x32x32
          conv 3x3/8 pad 1; pool max 2x2
          concat {
            branch { conv 1x1/4 }
            branch { conv 3x3/4 pad 1 }
            branch { conv 1x1/4; conv 5x5/4 pad 2 }
            branch { pool max 3x3 stride 1 pad 1; conv 1x1/4 }
          }
          conv 3x3/8 pad 1
        }
        """
    )
    report = {r["name"]: r for r in graph.report()["layers"]}
    # by hand: conv3 -> 3 (jump 1); pool 2x2/2 -> 3 + 1*1 = 4 (jump 2);
    # branches: 1x1 -> 4, 3x3 -> 4 + 2*2 = 8, 5x5 -> 4 + 4*2 = 12, pool3 -> 8
    assert [report[f"concat1/branch{i}/conv{1 + (i == 3)}"]["rf"][0] for i in (1, 2, 3)] == [4, 8, 12]
    assert report["concat1"]["rf"] == [12, 12] and report["concat1"]["jump"] == [2, 2]
    assert report["conv2"]["rf"] == [16, 16]


def test_googlenet_receptive_fields_through_the_branches():
    report = {r["name"]: r for r in cnnc.load(ROOT / "examples" / "googlenet.cnn").report()["layers"]}
    # By hand: conv 7x7/2 -> 7 (j 2); pool 3x3/2 -> 7 + 2*2 = 11 (j 4); conv 1x1 -> 11;
    # conv 3x3 -> 11 + 2*4 = 19; pool 3x3/2 -> 19 + 2*4 = 27 (j 8).
    # Each inception's widest path is its 5x5 branch: + 4 * jump.
    expected = {
        "inception1/concat1": (27 + 4 * 8, 8),  # 3a: 59
        "inception2/concat1": (59 + 4 * 8, 8),  # 3b: 91
        "inception3/concat1": (91 + 2 * 8 + 4 * 16, 16),  # pool then 4a: 171
        "inception7/concat1": (171 + 4 * 4 * 16, 16),  # 4b, 4c, 4d, 4e: 427
        "inception8/concat1": (427 + 2 * 16 + 4 * 32, 32),  # pool then 5a: 587
        "inception9/concat1": (587 + 4 * 32, 32),  # 5b: 715
    }
    for name, (rf, jump) in expected.items():
        assert report[name]["rf"] == [rf, rf], name
        assert report[name]["jump"] == [jump, jump], name


def test_depth_folds_layers_into_blocks_with_their_totals():
    graph = cnnc.load(ROOT / "examples" / "vgg16.cnn")
    folded = graph.report(depth=1)
    rows = {r["name"]: r for r in folded["layers"]}
    assert rows["stage1"]["description"] == "stage(64, 2)"
    assert rows["stage1"]["params"] == 1_792 + 36_928
    assert rows["stage1"]["output"] == [64, 112, 112]
    assert rows["stage5"]["rf"] == [212, 212]
    assert sum(r["params"] for r in folded["layers"]) == 138_357_544
    assert len(folded["layers"]) == 1 + 5 + 8  # input, 5 stages, fc relu dropout x2, fc, softmax


def test_training_estimate_counts_optimizer_state():
    graph = compile_text("network t { input 3x8x8; conv 3x3/4; fc 2 }")
    params = graph.report()["params"]
    sgd = graph.report(batch=8)["bytes"]["training_per_batch"]
    adam = graph.report(batch=8, optimizer="adam")["bytes"]["training_per_batch"]
    assert adam["total"] - sgd["total"] == 2 * params * 4
    assert sgd["activations"] == 8 * (3 * 64 + 4 * 36 + 2) * 4


def test_text_markdown_and_csv_agree_with_the_data(vgg):
    text = to_text(vgg)
    assert "138,357,544 (138.4M)" in text and "15,470,264,320 (15.5G)" in text
    assert "(3*3*512)*512 = 2,359,296 + 512 bias" in text
    assert "counting:" in text
    markdown = to_markdown(vgg).splitlines()
    assert markdown[2].startswith("| layer | op |") and markdown[3].startswith("|---|")
    rows = list(csv.DictReader(io.StringIO(to_csv(vgg))))
    assert len(rows) == len(vgg["layers"])
    assert sum(int(r["params"]) for r in rows) == 138_357_544


def test_human_numbers():
    assert human(138_357_544) == "138.4M"
    assert human(15_470_264_320) == "15.5G"
    assert human(512) == "512"


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "cnnc", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_report_formats_and_output_file(tmp_path):
    result = cli("report", "examples/vgg16.cnn", "--format", "json")
    assert result.returncode == 0 and json.loads(result.stdout)["params"] == 138_357_544
    out = tmp_path / "vgg.md"
    result = cli("report", "examples/vgg16.cnn", "--format", "markdown", "-o", str(out))
    assert result.returncode == 0 and out.read_text().startswith("### network vgg16")


def test_cli_report_bad_flags_and_unwritable_output(tmp_path):
    result = cli("report", "examples/vgg16.cnn", "--batch", "0")
    assert result.returncode == 2 and "expected a positive integer" in result.stderr
    result = cli("report", "examples/vgg16.cnn", "-o", str(tmp_path / "missing" / "x.txt"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot write") or "cannot write" in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr


def test_build_report_dtype_changes_bytes_only():
    graph = compile_text("network t { input 3x8x8; conv 3x3/4 }")
    half, double = build_report(graph, dtype="float16"), build_report(graph, dtype="float64")
    assert half["params"] == double["params"]
    assert double["bytes"]["params"] == 4 * half["bytes"]["params"]

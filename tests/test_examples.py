"""The bundled example networks: exact shapes, layer counts, params and MACs.

Each figure is the one stated in the example's header comment; the comment
says where it comes from (the paper, the seed notes, torchvision).
"""

from __future__ import annotations

import subprocess
import sys
from math import prod
from pathlib import Path

import pytest

import cnnc
from cnnc.analysis import totals

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# file stem: (network name, input, output, layers, params, MACs)
EXPECTED = {
    "alexnet": ("alexnet", (3, 227, 227), (1000,), 23, 60_965_224, 724_406_816),
    "digits": ("digits", (1, 8, 8), (10,), 13, 24_058, 599_680),
    "googlenet": ("googlenet", (3, 224, 224), (1000,), 142, 6_998_552, 1_582_671_872),
    "inception_bottleneck": ("inception_bottleneck", (256, 28, 28), (480, 28, 28), 14, 346_720, 271_351_808),
    "inception_naive": ("inception_naive", (256, 28, 28), (672, 28, 28), 8, 1_089_952, 854_196_224),
    "lenet5": ("lenet5", (1, 32, 32), (10,), 12, 61_706, 416_520),
    "resnet18": ("resnet18", (3, 224, 224), (1000,), 68, 11_689_512, 1_814_073_344),
    "resnet20_cifar": ("resnet20_cifar", (3, 32, 32), (10,), 72, 272_474, 40_813_184),
    "vgg16": ("vgg16", (3, 224, 224), (1000,), 39, 138_357_544, 15_470_264_320),
}


def load(stem: str):
    return cnnc.load(EXAMPLES / f"{stem}.cnn")


def by_name(graph) -> dict:
    return {node.name: node for node in graph.nodes}


def test_every_bundled_example_is_pinned_here():
    assert sorted(p.stem for p in EXAMPLES.glob("*.cnn")) == sorted(EXPECTED)


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_example_has_its_stated_shapes_layers_params_and_macs(stem):
    name, shape_in, shape_out, layers, params, macs = EXPECTED[stem]
    graph = load(stem)
    t = totals(graph)
    assert graph.name == name
    assert graph.input.meta["shape"] == shape_in
    assert graph.output.meta["shape"] == shape_out
    assert (t.layers, t.params, t.macs) == (layers, params, macs)


def test_lenet5_has_61706_params_and_416520_macs():
    graph = load("lenet5")
    convs_and_fcs = [n for n in graph.layers() if n.op in ("conv", "fc")]
    assert [n.meta["param_count"] for n in convs_and_fcs] == [156, 2_416, 48_120, 10_164, 850]
    assert [n.meta["macs"] for n in convs_and_fcs] == [117_600, 240_000, 48_000, 10_080, 840]
    assert [n.meta["shape"] for n in graph.layers() if n.op == "pool"] == [(6, 14, 14), (16, 5, 5)]


def test_alexnet_at_227_gives_the_papers_map_sizes_and_60_97m_params():
    graph = load("alexnet")
    convs = [n for n in graph.layers() if n.op == "conv"]
    assert [n.meta["shape"] for n in convs] == [
        (96, 55, 55),
        (256, 27, 27),
        (384, 13, 13),
        (384, 13, 13),
        (256, 13, 13),
    ]
    assert [n.attrs["groups"] for n in convs] == [1, 2, 1, 2, 2]
    assert [n.meta["param_count"] for n in convs] == [34_944, 307_456, 885_120, 663_936, 442_624]
    assert by_name(graph)["pool3"].meta["shape"] == (256, 6, 6)
    assert [n.attrs["k"] for n in graph.layers() if n.op == "lrn"] == [2.0, 2.0]
    assert graph.meta["warnings"] == []


def test_alexnet_at_224_gives_54x54_and_a_dropped_row_warning():
    graph = cnnc.load(EXAMPLES / "alexnet.cnn", input_shape=(3, 224, 224))
    assert by_name(graph)["conv1"].meta["shape"] == (96, 54, 54)
    messages = [w.message for w in graph.meta["warnings"]]
    assert messages[0].startswith("conv1: drops the last 1 row ((224 + 2*0 - 11)/4 + 1 = 54 is not exact)")


def test_alexnet_without_the_two_gpu_groups_would_have_62_38m_params():
    text = (EXAMPLES / "alexnet.cnn").read_text().replace(" groups 2", "")
    assert totals(cnnc.loads(text)).params == 62_378_344


GOOGLENET_TABLE1 = {  # block: (output channels, H and W) of Table 1
    "3a": (256, 28),
    "3b": (480, 28),
    "4a": (512, 14),
    "4b": (512, 14),
    "4c": (512, 14),
    "4d": (528, 14),
    "4e": (832, 14),
    "5a": (832, 7),
    "5b": (1024, 7),
}


def test_googlenet_inception_outputs_match_table1_of_the_paper():
    nodes = by_name(load("googlenet"))
    got = [nodes[f"inception{i}/concat1"].meta["shape"] for i in range(1, 10)]
    assert got == [(c, s, s) for c, s in GOOGLENET_TABLE1.values()]


def test_googlenet_ceil_pools_give_112_56_28_14_7():
    graph = load("googlenet")
    sizes = [n.meta["shape"][1] for n in graph.layers() if n.op == "pool" and n.attrs.get("stride") == (2, 2)]
    assert sizes == [56, 28, 14, 7]
    assert by_name(graph)["conv1"].meta["shape"] == (64, 112, 112)
    assert graph.meta["warnings"] == []


def test_googlenet_weights_and_biases_split_as_the_comment_says():
    graph = load("googlenet")
    weights = sum(prod(n.meta["params"]["weight"]) for n in graph.layers() if "weight" in n.meta["params"])
    assert (weights, totals(graph).params - weights) == (6_990_272, 8_280)
    block_3a = sum(n.meta["macs"] for n in graph.layers() if n.name.startswith("inception1/"))
    assert block_3a == 128_049_152  # Table 1: 128M


def test_resnet18_matches_torchvision_params_and_macs():
    t = totals(load("resnet18"))
    assert (t.params, t.macs) == (11_689_512, 1_814_073_344)
    assert t.buffers == 9_600  # BN running mean and variance: not params


def test_resnet_warnings_are_only_the_stride2_projection_shortcuts():
    for stem, count in (("resnet18", 3), ("resnet20_cifar", 2)):
        warnings = load(stem).meta["warnings"]
        assert len(warnings) == count
        for w in warnings:
            assert "/shortcut/conv1: drops the last 1 row" in w.message


def test_resnet20_cifar_option_b_has_272474_params():
    graph = load("resnet20_cifar")
    t = totals(graph)
    assert (t.params, t.macs) == (272_474, 40_813_184)
    projections = [n for n in graph.layers() if "/shortcut/" in n.name]
    projection_params = sum(n.meta["param_count"] for n in projections)
    projection_macs = sum(n.meta["macs"] for n in projections)
    # without them, option A: the paper's 0.27M
    assert (t.params - projection_params, t.macs - projection_macs) == (269_722, 40_551_040)
    weighted = [n for n in graph.layers() if n.op in ("conv", "fc") and "/shortcut/" not in n.name]
    assert len(weighted) == 20


def test_digits_is_small_and_carries_its_training_defaults():
    graph = load("digits")
    assert graph.train == {
        "loss": "cross_entropy",
        "optimizer": {"name": "adam", "lr": 0.003},
        "schedule": "cosine",
        "augment": "crop",
        "batch": 16,
        "epochs": 30,
        "l2": 0.0001,
    }
    assert graph.output.op == "fc"  # logits: cross_entropy applies the softmax
    t = totals(graph)
    assert (t.params, t.buffers, t.macs) == (24_058, 224, 599_680)


def test_inception_naive_costs_the_notes_854m_macs():
    products = [28 * 28 * 128 * 1 * 1 * 256, 28 * 28 * 192 * 3 * 3 * 256, 28 * 28 * 96 * 5 * 5 * 256]
    graph = load("inception_naive")
    assert [n.meta["macs"] for n in graph.layers() if n.op == "conv"] == products
    assert totals(graph).macs == sum(products) == 854_196_224


def test_inception_bottleneck_sums_to_271m_macs_since_264_is_a_typo_for_64():
    notes_with_typo_fixed = [
        28 * 28 * 64 * 1 * 1 * 256,
        28 * 28 * 64 * 1 * 1 * 256,
        28 * 28 * 128 * 1 * 1 * 256,
        28 * 28 * 192 * 3 * 3 * 64,
        28 * 28 * 96 * 5 * 5 * 64,  # printed as ... x 264
        28 * 28 * 64 * 1 * 1 * 256,
    ]
    graph = load("inception_bottleneck")
    assert sorted(n.meta["macs"] for n in graph.layers() if n.op == "conv") == sorted(notes_with_typo_fixed)
    assert totals(graph).macs == sum(notes_with_typo_fixed) == 271_351_808
    as_printed = sum(notes_with_typo_fixed) - 28 * 28 * 96 * 5 * 5 * 64 + 28 * 28 * 96 * 5 * 5 * 264
    assert 353_000_000 not in (round(sum(notes_with_typo_fixed), -6), round(as_printed, -6))


def test_cli_check_prints_one_exact_summary_line_per_example():
    files = sorted(str(p.relative_to(ROOT)) for p in EXAMPLES.glob("*.cnn"))
    result = subprocess.run(
        [sys.executable, "-m", "cnnc", "check", *files], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "examples/alexnet.cnn: alexnet: 3x227x227 -> 1000, 23 layers, 60,965,224 params, 724,406,816 MACs",
        "examples/digits.cnn: digits: 1x8x8 -> 10, 13 layers, 24,058 params, 599,680 MACs",
        "examples/googlenet.cnn: googlenet: 3x224x224 -> 1000, 142 layers, 6,998,552 params, 1,582,671,872 MACs",
        "examples/inception_bottleneck.cnn: inception_bottleneck: 256x28x28 -> 480x28x28, 14 layers, "
        "346,720 params, 271,351,808 MACs",
        "examples/inception_naive.cnn: inception_naive: 256x28x28 -> 672x28x28, 8 layers, "
        "1,089,952 params, 854,196,224 MACs",
        "examples/lenet5.cnn: lenet5: 1x32x32 -> 10, 12 layers, 61,706 params, 416,520 MACs",
        "examples/resnet18.cnn: resnet18: 3x224x224 -> 1000, 68 layers, 11,689,512 params, 1,814,073,344 MACs",
        "examples/resnet20_cifar.cnn: resnet20_cifar: 3x32x32 -> 10, 72 layers, 272,474 params, 40,813,184 MACs",
        "examples/vgg16.cnn: vgg16: 3x224x224 -> 1000, 39 layers, 138,357,544 params, 15,470,264,320 MACs",
    ]
    # the only warnings are the five explained in resnet18.cnn and resnet20_cifar.cnn
    assert result.stderr.count("warning:") == 5
    assert result.stderr.count("/shortcut/conv1: drops the last 1 row") == 5

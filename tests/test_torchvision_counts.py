"""Outside-style checks: networks written from the language contract alone
(tests/data/torchvision/) against the figures torchvision publishes.

Params must match exactly; MACs (torchvision's table calls them "GFLOPS")
rounded to 2 decimals in billions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import cnnc
from cnnc.analysis import totals

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "torchvision"

# file (relative to the repository), network: published params, published GMACs
PUBLISHED = {
    ("examples/resnet18.cnn", "resnet18"): (11_689_512, 1.81),
    ("tests/data/torchvision/resnet34.cnn", "resnet34"): (21_797_672, 3.66),
    ("tests/data/torchvision/resnet50.cnn", "resnet50"): (25_557_032, 4.09),
    ("tests/data/torchvision/resnet101.cnn", "resnet101"): (44_549_160, 7.80),
    ("tests/data/torchvision/resnet152.cnn", "resnet152"): (60_192_808, 11.51),
    ("tests/data/torchvision/vgg11.cnn", "vgg11"): (132_863_336, 7.61),
    ("examples/vgg16.cnn", "vgg16"): (138_357_544, 15.47),
    ("tests/data/torchvision/vgg19.cnn", "vgg19"): (143_667_240, 19.63),
    ("tests/data/torchvision/vgg16_bn.cnn", "vgg16_bn"): (138_365_992, 15.47),
    ("tests/data/torchvision/alexnet.cnn", "alexnet"): (61_100_840, 0.71),
    ("tests/data/torchvision/googlenet.cnn", "googlenet"): (6_624_904, 1.50),
    ("tests/data/torchvision/densenet121.cnn", "densenet121"): (7_978_856, 2.83),
    ("tests/data/torchvision/mobilenet_v2.cnn", "mobilenet_v2"): (3_504_872, 0.30),
    ("tests/data/torchvision/squeezenet1_0.cnn", "squeezenet1_0"): (1_248_424, 0.82),
    ("tests/data/torchvision/squeezenet1_1.cnn", "squeezenet1_1"): (1_235_496, 0.35),
    ("tests/data/torchvision/resnext50_32x4d.cnn", "resnext50_32x4d"): (25_028_904, 4.23),
    ("tests/data/torchvision/wide_resnet50_2.cnn", "wide_resnet50_2"): (68_883_240, 11.40),
}

# exact MACs, counted by hooks on every Conv2d and Linear of torchvision's
# models (torchvision 0.28) for one image; they round to the published GMACs
EXACT_MACS = {
    "resnet18": 1_814_073_344,
    "resnet34": 3_663_761_408,
    "resnet50": 4_089_184_256,
    "resnet101": 7_801_405_440,
    "resnet152": 11_513_626_624,
    "vgg11": 7_609_090_048,
    "vgg16": 15_470_264_320,
    "vgg19": 19_632_062_464,
    "vgg16_bn": 15_470_264_320,
    "alexnet": 714_188_480,
    "googlenet": 1_498_376_192,
    "densenet121": 2_834_161_664,
    "mobilenet_v2": 300_774_272,
    "squeezenet1_0": 818_924_576,
    "squeezenet1_1": 349_151_936,
    "inception_v3": 5_713_216_096,
    "resnext50_32x4d": 4_230_479_872,
    "wide_resnet50_2": 11_398_021_120,
}


def test_every_outsider_file_is_checked_against_a_published_figure():
    covered = {Path(path).name for path, _ in PUBLISHED if path.startswith("tests/")} | {"inception_v3.cnn"}
    assert {p.name for p in DATA.glob("*.cnn")} == covered


def compile_one(path: str, network: str):
    return cnnc.load(ROOT / path, network=network)


@pytest.mark.parametrize(("path", "network"), sorted(PUBLISHED))
def test_outsider_file_matches_torchvision_published_params_and_gmacs(path, network):
    params, gmacs = PUBLISHED[(path, network)]
    t = totals(compile_one(path, network))
    assert t.params == params
    assert round(t.macs / 1e9, 2) == gmacs
    assert t.macs == EXACT_MACS[network]


def test_inception_v3_published_params_include_the_aux_classifier():
    main = totals(compile_one("tests/data/torchvision/inception_v3.cnn", "inception_v3"))
    aux = totals(compile_one("tests/data/torchvision/inception_v3.cnn", "inception_v3_aux"))
    assert (main.params, aux.params) == (23_834_568, 3_326_696)
    assert main.params + aux.params == 27_161_264  # torchvision's published figure
    assert round(main.macs / 1e9, 2) == 5.71
    assert main.macs == EXACT_MACS["inception_v3"]


def test_inception_v3_mixed_blocks_have_torchvisions_shapes():
    graph = compile_one("tests/data/torchvision/inception_v3.cnn", "inception_v3")
    concats = [n.meta["shape"] for n in graph.layers() if n.op == "concat" and n.name.count("/") == 1]
    assert concats == [
        (256, 35, 35),
        (288, 35, 35),
        (288, 35, 35),
        (768, 17, 17),
        *[(768, 17, 17)] * 4,
        (1280, 8, 8),
        (2048, 8, 8),
        (2048, 8, 8),
    ]


def test_googlenet_ceil_pools_reach_7x7_as_torchvision():
    graph = compile_one("tests/data/torchvision/googlenet.cnn", "googlenet")
    strided = [n for n in graph.layers() if n.op == "pool" and n.attrs.get("stride") == (2, 2)]
    assert [n.meta["shape"][1] for n in strided] == [56, 28, 14, 7]
    assert all(n.attrs["ceil"] for n in strided)


def test_squeezenet_ceil_pools_give_torchvisions_sizes():
    sizes = {}
    for name in ("squeezenet1_0", "squeezenet1_1"):
        graph = compile_one(f"tests/data/torchvision/{name}.cnn", name)
        sizes[name] = [n.meta["shape"][1] for n in graph.layers() if n.op == "pool" and not n.attrs["global"]]
    assert sizes == {"squeezenet1_0": [54, 27, 13], "squeezenet1_1": [55, 27, 13]}


def test_densenet121_transitions_halve_the_concatenated_channels():
    graph = compile_one("tests/data/torchvision/densenet121.cnn", "densenet121")
    pools = [n.meta["shape"] for n in graph.layers() if n.op == "pool" and not n.attrs["global"]]
    assert pools == [(64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7)]
    concats = [n for n in graph.layers() if n.op == "concat"]
    assert len(concats) == 6 + 12 + 24 + 16
    assert concats[-1].meta["shape"] == (1024, 7, 7)


def test_outsider_files_warn_only_where_torchvision_skips_input_rows():
    """A stride-2 window that never reaches the last row and column: the
    1x1 projection shortcuts of the ResNets and squeezenet's first conv."""
    for path in sorted(DATA.glob("*.cnn")):
        for graph in cnnc.load_all(path):
            for warning in graph.meta["warnings"]:
                name = warning.message.split(":")[0]
                assert name.endswith("/shortcut/conv1") or (name == "conv1" and "squeezenet" in graph.name), (
                    graph.name,
                    warning.message,
                )

"""Horizontal fusion of sibling convs into one stacked conv and zero-copy slices."""

from cnnc.api import load
from cnnc.passes import run_passes
from tests.conftest import ROOT, net
from tests.pass_helpers import ir_lines, outputs_before_after, random_weights

# Two 1x1 siblings stack; a 3x3 one (other kernel) and a 1x1 without bias stay.
SNIPPET = (
    "concat { branch { conv 1x1/4; relu } branch { conv 1x1/2; relu; conv 3x3/3 pad 1 } "
    "branch { conv 3x3/2 pad 1 } branch { conv 1x1/5 nobias } }"
)

BEFORE = """\
  input = input() shape=3x8x8 : 3x8x8
  concat1/branch1/conv1 = conv(input) out_channels=4 kernel=1x1 stride=1x1 pad=0x0 dilation=1x1 groups=1 bias=true : 4x8x8
  concat1/branch1/relu1 = relu(concat1/branch1/conv1) : 4x8x8
  concat1/branch2/conv1 = conv(input) out_channels=2 kernel=1x1 stride=1x1 pad=0x0 dilation=1x1 groups=1 bias=true : 2x8x8
  concat1/branch2/relu1 = relu(concat1/branch2/conv1) : 2x8x8
  concat1/branch2/conv2 = conv(concat1/branch2/relu1) out_channels=3 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 3x8x8
  concat1/branch3/conv1 = conv(input) out_channels=2 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 2x8x8
  concat1/branch4/conv1 = conv(input) out_channels=5 kernel=1x1 stride=1x1 pad=0x0 dilation=1x1 groups=1 bias=false : 5x8x8
  concat1 = concat(concat1/branch1/relu1, concat1/branch2/conv2, concat1/branch3/conv1, concat1/branch4/conv1) : 14x8x8"""

AFTER = """\
  input = input() shape=3x8x8 : 3x8x8
  concat1/stacked_conv1 = conv(input) out_channels=6 kernel=1x1 stride=1x1 pad=0x0 dilation=1x1 groups=1 bias=true : 6x8x8
  concat1/branch1/conv1 = slice(concat1/stacked_conv1) start=0 stop=4 : 4x8x8
  concat1/branch2/conv1 = slice(concat1/stacked_conv1) start=4 stop=6 : 2x8x8
  concat1/branch1/relu1 = relu(concat1/branch1/conv1) : 4x8x8
  concat1/branch2/relu1 = relu(concat1/branch2/conv1) : 2x8x8
  concat1/branch2/conv2 = conv(concat1/branch2/relu1) out_channels=3 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 3x8x8
  concat1/branch3/conv1 = conv(input) out_channels=2 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 2x8x8
  concat1/branch4/conv1 = conv(input) out_channels=5 kernel=1x1 stride=1x1 pad=0x0 dilation=1x1 groups=1 bias=false : 5x8x8
  concat1 = concat(concat1/branch1/relu1, concat1/branch2/conv2, concat1/branch3/conv1, concat1/branch4/conv1) : 14x8x8"""


def test_sibling_1x1_convs_become_one_conv_and_slices():
    graph = net(SNIPPET, "3x8x8")
    assert ir_lines(graph) == BEFORE
    assert run_passes(graph, only=["fuse_horizontal"]) == [("fuse_horizontal", True, "1 groups, 2 convs -> 1")]
    assert ir_lines(graph) == AFTER
    stacked = graph.nodes[1]
    assert stacked.meta["fused_from"] == ["concat1/branch1/conv1", "concat1/branch2/conv1"]
    assert stacked.meta["loc"] == stacked.meta["fused_locs"][0]


def test_stacking_keeps_the_outputs():
    error, _ = outputs_before_after(net(SNIPPET, "3x8x8"), only=["fuse_horizontal"])
    assert error <= 1e-5


def test_stacked_weights_follow_the_slices():
    graph = net(SNIPPET, "3x8x8")
    graph.weights = random_weights(graph)
    first = graph.weights["concat1/branch1/conv1"]["weight"]
    run_passes(graph, only=["fuse_horizontal"])
    stacked = graph.weights["concat1/stacked_conv1"]
    assert stacked["weight"].shape == (6, 3, 1, 1) and stacked["bias"].shape == (6,)
    assert (stacked["weight"][:4] == first).all()
    assert "concat1/branch1/conv1" not in graph.weights


def test_grouped_and_differently_dilated_siblings_stay_apart():
    graph = net(
        "concat { branch { conv 1x1/3 groups 3 } branch { conv 1x1/6 groups 3 } }; "
        "concat { branch { conv 3x3/2 pad 1 } branch { conv 3x3/3 pad 2 dilation 2 } }"
    )
    assert run_passes(graph, only=["fuse_horizontal"])[0][1] is False


def test_googlenet_every_inception_head_fuses_with_the_same_outputs():
    graph = load(ROOT / "examples" / "googlenet.cnn")
    error, results = outputs_before_after(graph, batch=1, level=2)
    assert ("fuse_horizontal", True, "9 groups, 27 convs -> 9") in results
    stacked = [n for n in graph.nodes if "stacked_conv" in n.name]
    assert len(stacked) == 9
    assert all(len(n.meta["fused_from"]) == 6 for n in stacked)  # 3 convs and their 3 relus
    assert all(n.op == "fused_conv" and n.attrs["activation"] == "relu" for n in stacked)
    assert error <= 1e-5

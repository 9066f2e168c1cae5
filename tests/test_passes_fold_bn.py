"""BN folding into the conv or fc before it: IR before/after, outputs unchanged, ResNet-18."""

import numpy as np

from cnnc.api import load
from cnnc.passes import run_passes
from tests.conftest import ROOT, net
from tests.pass_helpers import ir_lines, outputs_before_after, random_weights

SNIPPET = "conv 3x3/4 pad 1 nobias; bn; relu; concat { branch { conv 1x1/2; bn } branch { bn } }; fc 10; bn"

BEFORE = """\
  input = input() shape=3x8x8 : 3x8x8
  conv1 = conv(input) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=false : 4x8x8
  bn1 = bn(conv1) eps=1e-05 momentum=0.1 : 4x8x8
  relu1 = relu(bn1) : 4x8x8
  concat1/branch1/conv1 = conv(relu1) out_channels=2 kernel=1x1 stride=1x1 pad=0x0 dilation=1x1 groups=1 bias=true : 2x8x8
  concat1/branch1/bn1 = bn(concat1/branch1/conv1) eps=1e-05 momentum=0.1 : 2x8x8
  concat1/branch2/bn1 = bn(relu1) eps=1e-05 momentum=0.1 : 4x8x8
  concat1 = concat(concat1/branch1/bn1, concat1/branch2/bn1) : 6x8x8
  fc1 = fc(concat1) units=10 bias=true : 10
  bn2 = bn(fc1) eps=1e-05 momentum=0.1 : 10"""

# The conv gains a bias; the BN after a relu stays (nothing to fold into); the
# fc absorbs the BN that was the output and becomes the output.
AFTER = """\
  input = input() shape=3x8x8 : 3x8x8
  conv1 = conv(input) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 4x8x8
  relu1 = relu(conv1) : 4x8x8
  concat1/branch1/conv1 = conv(relu1) out_channels=2 kernel=1x1 stride=1x1 pad=0x0 dilation=1x1 groups=1 bias=true : 2x8x8
  concat1/branch2/bn1 = bn(relu1) eps=1e-05 momentum=0.1 : 4x8x8
  concat1 = concat(concat1/branch1/conv1, concat1/branch2/bn1) : 6x8x8
  fc1 = fc(concat1) units=10 bias=true : 10"""


def test_bn_after_conv_and_fc_folds_into_them():
    graph = net(SNIPPET, "3x8x8")
    assert ir_lines(graph) == BEFORE
    assert run_passes(graph, only=["fold_bn"]) == [("fold_bn", True, "3 BN folded")]
    assert ir_lines(graph) == AFTER


def test_folding_keeps_the_outputs():
    error, _ = outputs_before_after(net(SNIPPET, "3x8x8"), only=["fold_bn"])
    assert error <= 1e-5


def test_a_conv_read_by_more_than_its_bn_keeps_the_bn():
    graph = net("conv 3x3/4 pad 1; concat { branch { bn } identity }", "3x8x8")
    assert run_passes(graph, only=["fold_bn"])[0][1] is False
    assert [n.op for n in graph.nodes].count("bn") == 1


def test_folded_weights_are_new_arrays_and_the_conv_records_the_bn():
    graph = net("conv 3x3/4 pad 1 nobias; bn", "3x8x8")
    graph.weights = weights = random_weights(graph)
    old = weights["conv1"]["weight"]
    run_passes(graph, only=["fold_bn"])
    assert set(graph.weights) == {"conv1"} and set(graph.weights["conv1"]) == {"weight", "bias"}
    assert graph.weights["conv1"]["weight"] is not old
    conv = graph.output
    assert conv.meta["fused_from"] == ["conv1", "bn1"]
    assert [loc.column for loc in conv.meta["fused_locs"]] == [1, 26]
    assert conv.meta["loc"].column == 1


def test_structural_folding_without_weights_counts_the_new_bias():
    graph = net("conv 3x3/4 pad 1 nobias; bn", "3x8x8")
    run_passes(graph, only=["fold_bn"])
    assert graph.weights is None
    assert graph.output.meta["params"] == {"weight": (4, 3, 3, 3), "bias": (4,)}


def test_resnet18_every_bn_folds_at_O1_with_the_same_outputs():
    graph = load(ROOT / "examples" / "resnet18.cnn")
    assert sum(n.op == "bn" for n in graph.nodes) == 20
    error, results = outputs_before_after(graph, batch=1, level=1)
    assert ("fold_bn", True, "20 BN folded") in results
    assert not any(n.op == "bn" for n in graph.nodes)
    assert error <= 1e-5
    assert np.isfinite(error)

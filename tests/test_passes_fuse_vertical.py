"""Vertical fusion: conv/fc + bias + residual add + activation into one node."""

from cnnc.ops import OPS
from cnnc.passes import run_passes
from tests.conftest import net, totals
from tests.pass_helpers import ir_lines, outputs_before_after

SNIPPET = (
    "conv 3x3/4 pad 1 nobias; bn; relu; residual { conv 3x3/4 pad 1; relu; conv 3x3/4 pad 1 }; relu; "
    "residual { conv 3x3/4 pad 1 }; fc 10; leaky_relu 0.1"
)

BEFORE = """\
  input = input() shape=3x8x8 : 3x8x8
  conv1 = conv(input) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=false : 4x8x8
  bn1 = bn(conv1) eps=1e-05 momentum=0.1 : 4x8x8
  relu1 = relu(bn1) : 4x8x8
  residual1/conv1 = conv(relu1) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 4x8x8
  residual1/relu1 = relu(residual1/conv1) : 4x8x8
  residual1/conv2 = conv(residual1/relu1) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 4x8x8
  residual1 = add(residual1/conv2, relu1) : 4x8x8
  relu2 = relu(residual1) : 4x8x8
  residual2/conv1 = conv(relu2) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 4x8x8
  residual2 = add(residual2/conv1, relu2) : 4x8x8
  fc1 = fc(residual2) units=10 bias=true : 10
  leaky_relu1 = leaky_relu(fc1) alpha=0.1 : 10"""

# conv+relu; conv+add+relu (two inputs); conv+add with no activation; fc+leaky_relu.
AFTER = """\
  input = input() shape=3x8x8 : 3x8x8
  conv1 = fused_conv(input) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true activation=relu residual=false : 4x8x8
  residual1/conv1 = fused_conv(conv1) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true activation=relu residual=false : 4x8x8
  residual1/conv2 = fused_conv(residual1/conv1, conv1) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true activation=relu residual=true : 4x8x8
  residual2/conv1 = fused_conv(residual1/conv2, residual1/conv2) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true activation=none residual=true : 4x8x8
  fc1 = fused_fc(residual2/conv1) units=10 bias=true activation=leaky_relu residual=false alpha=0.1 : 10"""

PASSES = ["fold_bn", "fuse_vertical"]


def test_conv_add_and_activation_chains_become_fused_nodes():
    graph = net(SNIPPET, "3x8x8")
    assert ir_lines(graph) == BEFORE
    results = run_passes(graph, only=PASSES)
    assert results[1] == ("fuse_vertical", True, "5 conv/fc/bn fused with their activation or residual add")
    assert ir_lines(graph) == AFTER


def test_fusion_keeps_the_outputs():
    error, _ = outputs_before_after(net(SNIPPET, "3x8x8"), only=PASSES)
    assert error <= 1e-5


def test_fused_nodes_keep_params_macs_and_flops_and_every_source_location():
    graph = net(SNIPPET, "3x8x8")
    run_passes(graph, only=["fold_bn"])
    before = totals(graph)
    run_passes(graph, only=["fuse_vertical"])
    after = totals(graph)
    assert (after.params, after.macs, after.flops) == (before.params, before.macs, before.flops)
    block = graph.nodes[3]
    assert block.meta["fused_from"] == ["residual1/conv2", "residual1", "relu2"]
    assert [loc.line for loc in block.meta["fused_locs"]] == [3, 3, 3]
    assert block.meta["loc"] == block.meta["fused_locs"][0]
    first = graph.nodes[1]
    assert first.meta["fused_from"] == ["conv1", "bn1", "relu1"]  # the folded BN is remembered too


def test_fused_ops_keep_their_families():
    assert (OPS["fused_conv"].family, OPS["fused_fc"].family, OPS["slice"].family) == ("conv", "dense", "structure")


def test_a_conv_whose_output_is_read_twice_is_not_fused():
    graph = net("conv 3x3/4 pad 1; concat { branch { relu } identity }", "3x8x8")
    assert run_passes(graph, only=["fuse_vertical"])[0][1] is False


def test_relu_then_add_fuses_only_the_relu():
    """act(conv) + x is not act(conv + x): only conv+relu becomes one node."""
    graph = net("conv 3x3/3 pad 1; residual { conv 3x3/3 pad 1; relu }", "3x8x8")
    error, _ = outputs_before_after(graph, only=["fuse_vertical"])
    assert [n.op for n in graph.nodes] == ["input", "conv", "fused_conv", "add"]
    assert error <= 1e-5

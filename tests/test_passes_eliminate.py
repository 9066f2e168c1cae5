"""Dead node, identity and dropout elimination: IR before/after and outputs unchanged."""

from cnnc.analysis import annotate
from cnnc.ir import make_node
from cnnc.passes import run_passes
from cnnc.passes.rewrite import infer_shape
from tests.conftest import net
from tests.pass_helpers import ir_lines, outputs_before_after, random_weights

PASSTHROUGH = "conv 3x3/4 pad 1; identity; relu; dropout 0.5; fc 10; dropout 0.2"

PASSTHROUGH_BEFORE = """\
  input = input() shape=3x8x8 : 3x8x8
  conv1 = conv(input) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 4x8x8
  identity1 = identity(conv1) : 4x8x8
  relu1 = relu(identity1) : 4x8x8
  dropout1 = dropout(relu1) p=0.5 : 4x8x8
  fc1 = fc(dropout1) units=10 bias=true : 10
  dropout2 = dropout(fc1) p=0.2 : 10"""

PASSTHROUGH_AFTER = """\
  input = input() shape=3x8x8 : 3x8x8
  conv1 = conv(input) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 4x8x8
  relu1 = relu(conv1) : 4x8x8
  fc1 = fc(relu1) units=10 bias=true : 10"""


def test_identity_and_dropout_readers_read_their_input():
    graph = net(PASSTHROUGH, "3x8x8")
    assert ir_lines(graph) == PASSTHROUGH_BEFORE
    results = run_passes(graph, only=["eliminate_identity", "eliminate_dropout"])
    assert ir_lines(graph) == PASSTHROUGH_AFTER
    assert results == [
        ("eliminate_identity", True, "1 identity removed"),
        ("eliminate_dropout", True, "2 dropout removed"),
    ]


def test_identity_and_dropout_elimination_keep_the_outputs():
    error, _ = outputs_before_after(net(PASSTHROUGH, "3x8x8"), only=["eliminate_identity", "eliminate_dropout"])
    assert error <= 1e-5


def test_an_output_identity_whose_input_is_not_just_before_it_stays():
    """The output is the last node: removing it would make an unrelated node (relu1) the output."""
    graph = net("conv 1x1/2; relu", "3x4x4")
    graph.nodes.append(make_node("identity1", "identity", [graph.nodes[1]], {}, None))
    annotate(graph)
    assert run_passes(graph, only=["eliminate_identity"])[0][1:] == (False, "0 identity removed")
    assert graph.output.op == "identity"


def with_dead_nodes(graph):
    """Two chained convs nobody reads, inserted before the output."""
    relu = graph.nodes[-2]
    spare = make_node("spare1", "conv", [relu], dict(graph.nodes[1].attrs, out_channels=3), None)
    infer_shape(spare)
    spare2 = make_node("spare2", "relu", [spare], {}, None)
    infer_shape(spare2)
    graph.nodes[-1:-1] = [spare, spare2]
    annotate(graph)
    return graph


DEAD_BEFORE = """\
  input = input() shape=3x8x8 : 3x8x8
  conv1 = conv(input) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 4x8x8
  relu1 = relu(conv1) : 4x8x8
  spare1 = conv(relu1) out_channels=3 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 3x8x8
  spare2 = relu(spare1) : 3x8x8
  fc1 = fc(relu1) units=10 bias=true : 10"""

DEAD_AFTER = """\
  input = input() shape=3x8x8 : 3x8x8
  conv1 = conv(input) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 4x8x8
  relu1 = relu(conv1) : 4x8x8
  fc1 = fc(relu1) units=10 bias=true : 10"""


def test_dead_chains_go_in_one_sweep_with_their_weights():
    graph = with_dead_nodes(net("conv 3x3/4 pad 1; relu; fc 10", "3x8x8"))
    assert ir_lines(graph) == DEAD_BEFORE
    graph.weights = random_weights(graph)
    assert "spare1" in graph.weights
    assert run_passes(graph, only=["eliminate_dead"])[0][1:] == (True, "2 dead nodes removed")
    assert ir_lines(graph) == DEAD_AFTER
    assert "spare1" not in graph.weights


def test_dead_node_elimination_keeps_the_outputs():
    graph = net("conv 3x3/4 pad 1; relu; fc 10", "3x8x8")
    graph = with_dead_nodes(graph)
    error, results = outputs_before_after(graph, only=["eliminate_dead"])
    assert error <= 1e-5 and results[0][1]


def test_nothing_to_remove_reports_unchanged():
    graph = net("conv 3x3/4 pad 1; relu", "3x8x8")
    assert run_passes(graph, level=1) == [
        ("eliminate_identity", False, "0 identity removed"),
        ("eliminate_dropout", False, "0 dropout removed"),
        ("fold_bn", False, "0 BN folded"),
        ("eliminate_dead", False, "0 dead nodes removed"),
    ]

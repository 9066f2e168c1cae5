"""The IR: layer names from the block path, the printer's stable text, the verifier."""

import dataclasses

import pytest

from cnnc.errors import CnncError
from cnnc.ir import make_node, print_graph, verify
from tests.conftest import compile_text, net, shapes

SMALL = """
block unit(c) {
  conv 3x3/c pad 1; relu
}
network small {
  input 3x8x8
  unit(4); unit(4)
  concat { branch { conv 1x1/2 } identity }
  residual { bn } shortcut { identity }
  pool avg global; fc 10
}
"""

SMALL_IR = """\
network small  # net.cnn
  input = input() shape=3x8x8 : 3x8x8
  unit1/conv1 = conv(input) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 4x8x8
  unit1/relu1 = relu(unit1/conv1) : 4x8x8
  unit2/conv1 = conv(unit1/relu1) out_channels=4 kernel=3x3 stride=1x1 pad=1x1 dilation=1x1 groups=1 bias=true : 4x8x8
  unit2/relu1 = relu(unit2/conv1) : 4x8x8
  concat1/branch1/conv1 = conv(unit2/relu1) out_channels=2 kernel=1x1 stride=1x1 pad=0x0 dilation=1x1 groups=1 bias=true : 2x8x8
  concat1 = concat(concat1/branch1/conv1, unit2/relu1) : 6x8x8
  residual1/bn1 = bn(concat1) eps=1e-05 momentum=0.1 : 6x8x8
  residual1/shortcut/identity1 = identity(concat1) : 6x8x8
  residual1 = add(residual1/bn1, residual1/shortcut/identity1) : 6x8x8
  pool1 = pool(residual1) mode=avg global=true : 6x1x1
  fc1 = fc(pool1) units=10 bias=true : 10"""


def test_printer_gives_stable_text_with_block_path_names():
    assert print_graph(compile_text(SMALL)) == SMALL_IR


def test_repeat_continues_the_counters_of_its_scope():
    graph = net("repeat 3 { conv 3x3/8 pad 1; relu }")
    assert [n.name for n in graph.layers()] == ["conv1", "relu1", "conv2", "relu2", "conv3", "relu3"]


def test_nested_blocks_give_nested_paths():
    graph = compile_text(
        """
        block inner(c) { conv 1x1/c }
        block outer(c) { inner(c); inner((c * 2)) }
        network t { input 3x4x4; outer(2); outer(3) }
        """
    )
    assert list(shapes(graph)) == [
        "input", "outer1/inner1/conv1", "outer1/inner2/conv1", "outer2/inner1/conv1", "outer2/inner2/conv1",
    ]  # fmt: skip
    assert shapes(graph)["outer2/inner2/conv1"] == (6, 4, 4)


def test_names_stay_unique_when_a_block_name_ends_in_a_digit():
    graph = compile_text(
        """
        block relu1 { relu }
        network t { input 3x4x4
          relu1; relu; relu; relu; relu; relu; relu; relu; relu; relu; relu }
        """
    )
    names = [n.name for n in graph.nodes]
    assert len(names) == len(set(names))
    assert names[1] == "relu1_1/relu1"  # first use of block relu1: a joint keeps the count apart


def test_verifier_names_the_pass_that_broke_the_graph():
    graph = net("conv 3x3/8; relu")
    conv, relu = graph.layers()
    graph.nodes[1:] = [relu, conv]  # relu now reads a node defined after it
    with pytest.raises(CnncError, match="after fuse_test: node 'relu1' reads 'conv1'"):
        verify(graph, after="fuse_test")


def test_verifier_catches_a_wrong_shape():
    graph = net("conv 3x3/8")
    graph.nodes[1].meta["shape"] = (8, 31, 31)
    with pytest.raises(CnncError, match="has shape 8x31x31 but its op gives 8x30x30"):
        verify(graph, after="broken_pass")


def test_verifier_catches_duplicate_names_and_bad_arity():
    graph = net("relu")
    extra = make_node("relu1", "relu", [graph.input], {}, None)
    graph.nodes.append(extra)
    with pytest.raises(CnncError, match="defined twice"):
        verify(graph)
    graph.nodes[-1] = dataclasses.replace(extra, name="relu9", inputs=[])
    with pytest.raises(CnncError, match="has 0 inputs"):
        verify(graph)

"""Concat elimination (structural: numerically a no-op) and memory planning."""

from math import prod

import pytest

from cnnc.api import load
from cnnc.passes import run_passes
from tests.conftest import ROOT, net
from tests.pass_helpers import outputs_before_after

SNIPPET = (
    "conv 1x1/4; concat { branch { conv 1x1/4; relu } branch { conv 1x1/2; relu; conv 3x3/3 pad 1 } "
    "branch { pool max 3x3 stride 1 pad 1 } identity }; concat { branch { conv 1x1/2 } branch { conv 3x3/2 pad 1 } }"
)


def marks(graph) -> dict:
    return {n.name: n.meta["writes_into"] for n in graph.nodes if "writes_into" in n.meta}


def test_branches_read_only_by_their_concat_write_into_its_channel_range():
    graph = net(SNIPPET, "3x8x8")
    results = run_passes(graph, level=2)
    assert ("eliminate_concat", True, "1 of 2 concats in place, 4 branches write into them") in results
    assert marks(graph) == {
        "concat1/branch2/conv2": ("concat1", 4),
        "concat1/branch3/pool1": ("concat1", 7),
        "concat2/branch1/conv1": ("concat2", 0),
        "concat2/branch2/conv1": ("concat2", 2),
    }  # not the slice of the stacked conv (a view) nor conv1 (also read by the pool)
    in_place = {n.name: n.meta["in_place"] for n in graph.nodes if n.op == "concat"}
    assert in_place == {"concat1": False, "concat2": True}


def test_concat_elimination_changes_no_output():
    error, _ = outputs_before_after(net(SNIPPET, "3x8x8"), level=2)
    assert error <= 1e-5


def storage(graph, node):
    """Where a tensor lives, followed as a backend would: views and concat branches live elsewhere."""
    names = {n.name: n for n in graph.nodes}
    while node.op in ("slice", "flatten") or "writes_into" in node.meta:
        node = names[node.meta["writes_into"][0]] if "writes_into" in node.meta else node.inputs[0]
    return node.name


def lifetimes(graph) -> dict:
    """{node: (step written, last step read)}, recomputed here from the graph alone."""
    steps = {n.name: (i, i) for i, n in enumerate(graph.nodes)}
    for i, node in enumerate(graph.nodes):
        for source in node.inputs:
            steps[source.name] = (steps[source.name][0], i)
    steps[graph.output.name] = (steps[graph.output.name][0], len(graph.nodes))
    return steps


def assert_no_live_tensors_share_a_buffer(graph):
    plan, life = graph.meta["memory_plan"], lifetimes(graph)
    for a in graph.nodes:
        for b in graph.nodes:
            same = plan["assignment"][a.name] == plan["assignment"][b.name]
            live = life[a.name][0] <= life[b.name][1] and life[b.name][0] <= life[a.name][1]
            if same and live:
                assert storage(graph, a) == storage(graph, b), (a.name, b.name)
    for index, buffer in enumerate(plan["buffers"]):
        users = [n for n in graph.nodes if plan["assignment"][n.name] == index]
        assert all(4 * prod(n.meta["shape"]) <= buffer["bytes"] for n in users)


@pytest.mark.parametrize("example", ["resnet18", "googlenet", "inception_bottleneck", "alexnet", "digits"])
def test_no_two_live_tensors_share_a_buffer(example):
    graph = load(ROOT / "examples" / f"{example}.cnn")
    run_passes(graph, level=2)
    assert_no_live_tensors_share_a_buffer(graph)
    plan = graph.meta["memory_plan"]
    assert plan["live_peak_bytes"] <= plan["peak_bytes"] < plan["naive_bytes"]


def test_the_snippet_plan_reuses_the_input_buffer_for_the_in_place_concat():
    graph = net(SNIPPET, "3x8x8")
    run_passes(graph, level=2)
    assert_no_live_tensors_share_a_buffer(graph)
    plan = graph.meta["memory_plan"]
    assert [b["tensors"] for b in plan["buffers"]] == [
        ["concat1", "input"],
        ["concat1/stacked_conv1", "concat2"],
        ["conv1"],
    ]
    assert plan["assignment"]["concat2/branch1/conv1"] == plan["assignment"]["concat2"]


def test_resnet18_and_googlenet_planned_peaks_as_the_docs_state():
    figures = {}
    for example in ("resnet18", "googlenet"):
        graph = load(ROOT / "examples" / f"{example}.cnn")
        run_passes(graph, level=2)
        plan = graph.meta["memory_plan"]
        figures[example] = (plan["naive_bytes"], plan["peak_bytes"])
    assert figures == {"resnet18": (11_345_824, 4_816_896), "googlenet": (27_342_336, 7_225_344)}


def test_running_the_pipeline_twice_gives_the_same_marks_and_plan():
    graph = net(SNIPPET, "3x8x8")
    run_passes(graph, level=2)
    first = (marks(graph), graph.meta["memory_plan"]["peak_bytes"])
    results = run_passes(graph, level=2)
    assert (marks(graph), graph.meta["memory_plan"]["peak_bytes"]) == first
    assert ("fuse_horizontal", False, "0 groups, 0 convs -> 0") in results


def test_a_pass_that_changes_the_graph_drops_the_old_plan():
    graph = net(SNIPPET, "3x8x8")
    run_passes(graph, only=["plan_memory"])
    assert "memory_plan" in graph.meta
    run_passes(graph, only=["fuse_vertical"])
    assert "memory_plan" not in graph.meta

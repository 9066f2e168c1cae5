"""The pass driver: pipelines per level, the verifier naming a broken pass, --print-after."""

import pytest

from cnnc import passes
from cnnc.errors import CnncError
from cnnc.passes import PIPELINE, run_passes
from cnnc.passes.rewrite import set_attrs
from tests.conftest import net
from tests.pass_helpers import random_weights

SNIPPET = "conv 3x3/4 pad 1; bn; relu; conv 1x1/4; dropout 0.5; fc 10"


def widen_conv(graph) -> bool:
    """Deliberately broken: a conv's output channels change, its readers are not told."""
    conv = next(n for n in graph.nodes if n.op == "conv")
    conv.attrs = type(conv.attrs)({**conv.attrs, "out_channels": 8})
    return True


def widen_conv_and_its_shape(graph) -> bool:
    """Broken more subtly: the conv's own shape is kept right, its BN's is not."""
    set_attrs(next(n for n in graph.nodes if n.op == "conv"), out_channels=8)
    return True


@pytest.mark.parametrize("broken", [widen_conv, widen_conv_and_its_shape])
def test_a_pass_that_breaks_a_shape_is_caught_and_named(monkeypatch, broken):
    monkeypatch.setitem(passes.PASSES, broken.__name__, broken)
    graph = net(SNIPPET, "3x8x8")
    with pytest.raises(CnncError) as caught:
        run_passes(graph, only=["fold_bn", broken.__name__])
    assert caught.value.message.startswith(f"internal error: IR invalid after {broken.__name__}: node '")
    assert "has shape 4x8x8 but its op gives 8x8x8" in caught.value.message


def test_weights_a_pass_forgot_to_rewrite_are_caught_and_named(monkeypatch):
    def drop_bias(graph):
        set_attrs(graph.nodes[1], bias=False)  # shapes stay right; the bound bias is left over
        return True

    monkeypatch.setitem(passes.PASSES, "drop_bias", drop_bias)
    graph = net(SNIPPET, "3x8x8")
    graph.weights = random_weights(graph)
    with pytest.raises(CnncError, match="weights invalid after drop_bias: node 'conv1'"):
        run_passes(graph, only=["drop_bias"])


def test_unknown_pass_names_say_which_exist():
    with pytest.raises(CnncError) as caught:
        run_passes(net(SNIPPET), only=["fold_bnn"])
    assert caught.value.message == "unknown pass 'fold_bnn'"
    assert caught.value.hint == "did you mean 'fold_bn'?"
    with pytest.raises(CnncError) as caught:
        run_passes(net(SNIPPET), disable=["nothing_like_it"])
    assert caught.value.hint.startswith("the passes are: eliminate_identity, eliminate_dropout, fold_bn")


def test_levels_grow_and_disable_skips():
    assert PIPELINE[0] == [] and PIPELINE[2][: len(PIPELINE[1])] == PIPELINE[1]
    graph = net(SNIPPET, "3x8x8")
    names = [name for name, _, _ in run_passes(graph, level=2, disable=["fold_bn", "plan_memory"])]
    assert "fold_bn" not in names and "plan_memory" not in names and "fuse_vertical" in names
    assert any(n.op in ("bn", "fused_bn") for n in graph.nodes)  # not folded (fuse_vertical may fuse it)


def test_print_after_one_pass_or_all(capsys):
    run_passes(net(SNIPPET, "3x8x8"), level=1, print_after="fold_bn")
    out = capsys.readouterr().out
    assert out.startswith("# IR after fold_bn\nnetwork t  # net.cnn\n") and out.count("# IR after") == 1
    run_passes(net(SNIPPET, "3x8x8"), level=1, print_after="all")
    assert capsys.readouterr().out.count("# IR after") == len(PIPELINE[1])


def test_the_environment_variable_asks_for_prints(monkeypatch, capsys):
    monkeypatch.setenv("CNNC_PRINT_AFTER", "eliminate_dropout,fold_bn")
    run_passes(net(SNIPPET, "3x8x8"), level=1)
    out = capsys.readouterr().out
    assert "# IR after eliminate_dropout" in out and "# IR after fold_bn" in out and out.count("# IR after") == 2
    assert "dropout(" not in out  # printed after the dropout went

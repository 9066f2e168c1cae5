"""Resource bombs and deep nesting: refused with a CnncError, never a RecursionError.

The bombs are refused before anything is built (cnnc.inline.NodeBudget); the
time each takes is measured by hand, not asserted here.
"""

from cnnc.api import loads
from cnnc.inline import CALL_DEPTH_LIMIT, NESTING_LIMIT, NODE_LIMIT, REFUSED
from cnnc.scope import EXPR_DEPTH_LIMIT
from tests.test_errors import assert_error, error, net

TOO_MANY_LAYERS = f"the network would have over {NODE_LIMIT:,} layers"
TOO_MANY_USES = f"the network would use blocks over {NODE_LIMIT:,} times"
EXPR_TOO_DEEP = f"expression nests deeper than {EXPR_DEPTH_LIMIT} levels"
EXPR_HINT = "counting the constants it uses; simplify it or split it with let"
NESTED_TOO_DEEP = f"statements nest deeper than {NESTING_LIMIT} levels"
NESTING_HINT = "repeat, concat, residual and block uses count as levels"


# --- resource bombs -----------------------------------------------------------


def test_huge_repeat():
    assert_error(net("repeat 1000000000 { relu }"), TOO_MANY_LAYERS, 3, 3, REFUSED)


def test_nested_repeats():
    assert_error(net("repeat 100000 { repeat 100000 { relu } }"), TOO_MANY_LAYERS, 3, 3, REFUSED)


def test_exponential_block_nesting():
    blocks = "block b0 { relu; relu }\n" + "".join(f"block b{i} {{ b{i - 1}; b{i - 1} }}\n" for i in range(1, 60))
    assert_error(blocks + net("b59"), TOO_MANY_LAYERS, 17, 18, REFUSED)


def test_exponential_blocks_with_distinct_arguments():
    """Every use has other arguments, so counting can't share work between uses."""
    blocks = "block b0(c) { relu }\n"
    blocks += "".join(f"block b{i}(c) {{ b{i - 1}(c * 2); b{i - 1}(c * 2 + 1) }}\n" for i in range(1, 60))
    e = error(blocks + net("b59(1)"))
    assert (e.message, e.hint) == (TOO_MANY_USES, REFUSED)


def test_exponential_blocks_that_emit_nothing():
    blocks = "block b0(c) { }\n"
    blocks += "".join(f"block b{i}(c) {{ b{i - 1}(c * 2); b{i - 1}(c * 2 + 1) }}\n" for i in range(1, 60))
    e = error(blocks + net("b59(1)"))
    assert (e.message, e.hint) == (TOO_MANY_USES, REFUSED)


def test_huge_repeat_of_nothing_is_quick_and_empty():
    graph = loads("block e { }\n" + net("repeat 1000000000 { }", "repeat 1000000000 { e }"), file="net.cnn")
    assert [node.op for node in graph.nodes] == ["input"]


def test_squaring_constants_does_not_grow_without_end():
    lets = "let a0 = 99999999999\n" + "".join(f"let a{i} = a{i - 1} * a{i - 1}\n" for i in range(1, 40))
    assert_error(lets + net("conv 3x3/a39"), "number too large", 2, 10, "cnnc's whole numbers stop at 2**63")


def test_huge_literal_size():
    assert_error(net(f"conv 3x3/{'9' * 99}"), "channel count is too large", 3, 12, "1e+99 is beyond 2**63")


# --- deep nesting -------------------------------------------------------------


def test_five_thousand_nested_parentheses():
    graph = loads(net("conv 3x3/" + "(" * 5000 + "3" + ")" * 5000), file="net.cnn")
    assert graph.output.meta["shape"] == (3, 30, 30)


def test_ten_thousand_term_sum():
    assert_error(net("conv 3x3/(" + "+".join(["1"] * 10_000) + ")"), EXPR_TOO_DEEP, 3, 13, EXPR_HINT)
    text = "let c = " + "+".join(["1"] * 10_000) + "\n" + net("conv 3x3/c")
    assert_error(text, EXPR_TOO_DEEP, 1, 9, EXPR_HINT)


def test_five_thousand_minus_signs():
    e = error("let c = " + "-" * 5000 + "3\n" + net("conv 3x3/c"))
    assert (e.message, e.loc.line, e.hint) == (EXPR_TOO_DEEP, 1, EXPR_HINT)


def test_long_chain_of_constants():
    lets = "".join(f"let c{i} = c{i + 1} + 1\n" for i in range(3000)) + "let c3000 = 1\n"
    e = error(lets + net("conv 3x3/c0"))
    assert (e.message, e.hint) == (EXPR_TOO_DEEP, EXPR_HINT)


def test_two_thousand_nested_repeats():
    text = net("repeat 1 {" * 2000 + " relu " + "}" * 2000)
    assert_error(text, NESTED_TOO_DEEP, 3, 3 + 10 * (NESTING_LIMIT + 1), NESTING_HINT)


def test_two_thousand_nested_concats_and_residuals():
    e = error(net("concat { branch {" * 2000 + " relu " + "} }" * 2000))
    assert (e.message, e.hint) == (NESTED_TOO_DEEP, NESTING_HINT)
    e = error(net("residual {" * 2000 + " relu " + "}" * 2000))
    assert (e.message, e.hint) == (NESTED_TOO_DEEP, NESTING_HINT)


def test_chain_of_two_thousand_blocks():
    blocks = "".join(f"block b{i} {{ b{i + 1} }}\n" for i in range(2000)) + "block b2000 { relu }\n"
    assert_error(blocks + net("b0"), f"blocks nest deeper than {CALL_DEPTH_LIMIT} levels", CALL_DEPTH_LIMIT, 13)


def test_everything_at_its_limit_still_compiles():
    """The deepest nesting allowed, with the deepest expression inside: no RecursionError."""
    depth = (NESTING_LIMIT - 1) // 2  # a block use and a repeat per level
    blocks = "".join(f"block b{i}(c) {{ repeat 1 {{ b{i + 1}(c) }} }}\n" for i in range(depth))
    expression = "(" * (EXPR_DEPTH_LIMIT - 1) + "c" + " + 0)" * (EXPR_DEPTH_LIMIT - 1)
    blocks += f"block b{depth}(c) {{ conv 1x1/{expression} }}\n"
    graph = loads(blocks + net("b0(4)"), file="net.cnn")
    assert graph.output.meta["shape"] == (4, 32, 32)


def test_limits_are_generous_for_real_networks():
    assert NODE_LIMIT >= 10_000 and NESTING_LIMIT >= 50 and EXPR_DEPTH_LIMIT >= 50

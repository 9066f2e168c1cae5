"""Syntax errors: one positioned CnncError each, with the exact message and hint.

Semantic errors (names, blocks, sizes, shapes, training) are in
test_errors_semantic.py, resource limits in test_errors_limits.py.
"""

import pytest

from cnnc.api import load, loads
from cnnc.errors import CnncError


def error(text: str, **kwargs) -> CnncError:
    with pytest.raises(CnncError) as info:
        loads(text, file="net.cnn", **kwargs)
    return info.value


def assert_error(text: str, message: str, line: int, column: int, hint: str | None = None, **kwargs):
    e = error(text, **kwargs)
    assert e.message == message
    assert (e.loc.file, e.loc.line, e.loc.column) == ("net.cnn", line, column)
    assert e.hint == hint


def net(*lines: str) -> str:
    """A network whose statements start on line 3, after `input 3x32x32`."""
    return "network n {\n  input 3x32x32\n" + "".join(f"  {line}\n" for line in lines) + "}\n"


# --- unknown words ------------------------------------------------------------


def test_misspelled_activation_alone_on_its_line():
    assert_error(net("rleu"), "unknown layer or block 'rleu'", 3, 3, "did you mean 'relu'?")


def test_misspelled_statement_word_followed_by_arguments():
    assert_error(net("covn 3x3/64"), "unknown layer or block 'covn'", 3, 3, "did you mean 'conv'?")
    assert_error(net("relu; dropuot 0.5"), "unknown layer or block 'dropuot'", 3, 9, "did you mean 'dropout'?")
    text = "network n {\n  inptu 3x32x32\n}\n"
    assert_error(text, "unknown layer or block 'inptu'", 2, 3, "did you mean 'input'?")


def test_block_arguments_without_parentheses():
    hint = "arguments of a block go in parentheses: stage(4)"
    assert_error(net("stage 4"), "unexpected '4'", 3, 9, hint)


def test_missing_separator_after_a_block_use_is_not_a_misspelling():
    """'b' is close to 'bn', but here it is a block, or a statement follows it."""
    block = "block b(c) { relu }\n"
    hint = "arguments of a block go in parentheses: b(3)"
    assert_error(block + net("b 3"), "unexpected '3'", 4, 5, hint)
    assert_error(block + net("b relu"), "unexpected 'relu'", 4, 5, "expected (, end of statement or }")


def test_misspelled_top_level_keyword():
    text = "netwrk n {\n  input 3x32x32\n}\n"
    assert_error(text, "unexpected 'netwrk'", 1, 1, "did you mean 'network'?")


def test_unknown_option_close_to_a_real_one():
    assert_error(net("conv 3x3/64 strid 2"), "unknown option 'strid'", 3, 15, "did you mean 'stride'?")
    assert_error(net("pool max 2x2 strid 2"), "unknown option 'strid'", 3, 16, "did you mean 'stride'?")
    assert_error(net("bn epsilon 1e-3"), "unknown option 'epsilon'", 3, 6, "did you mean 'eps'?")


def test_unknown_option_glued_to_a_keyword():
    """'stridex' lexes as 'stride' 'x'; the error names the whole word."""
    assert_error(net("conv 3x3/64 stridex 2"), "unknown option 'stridex'", 3, 15, "did you mean 'stride'?")


def test_unknown_option_with_nothing_close_lists_the_options():
    hint = "expected alpha, beta1, beta2, end of statement, eps, lr, momentum, nesterov, rho or }"
    text = net("fc 10", "train { optimizer sgd lr 0.1 foo 0.9 }")
    assert_error(text, "unknown option 'foo'", 4, 32, hint)


def test_unknown_pool_mode():
    assert_error(net("pool mx 2x2"), "unexpected 'mx'", 3, 8, "did you mean 'max'?")
    assert_error(net("pool mean 2x2"), "unexpected 'mean'", 3, 8, "expected avg, l2 or max")


# --- misplaced tokens ------------------------------------------------------------


def test_two_statements_without_a_separator():
    assert_error(net("relu relu"), "unexpected 'relu'", 3, 8, "expected end of statement or }")


def test_conv_without_channels():
    assert_error(net("conv 3x3 64"), "unexpected '64'", 3, 12, "expected / or x")


def test_stray_character_in_an_expression():
    assert_error(net("conv 3x3/(3 $ 4)"), "unexpected character '$'", 3, 15, "expected ), *, +, - or //")


def test_concat_holds_only_branches():
    hint = "expected branch, end of statement, identity or }"
    assert_error(net("concat { branch { relu } relu }"), "unexpected 'relu'", 3, 28, hint)


def test_shortcut_without_body():
    assert_error(net("residual { relu } shortcut"), "unexpected '}'", 4, 1, "expected {")


def test_import_path_must_be_quoted():
    hint = 'expected a quoted path like "blocks.cnn"'
    assert_error("import blocks.cnn\nnetwork n { input 3x3x3 }\n", "unexpected 'blocks'", 1, 8, hint)


def test_unexpected_end_of_file_in_an_expression():
    hint = "expected (, -, a name, a number or an integer"
    assert_error("let x =", "unexpected end of file", 1, 8, hint)
    assert_error("let x = 3 +\nnetwork n { input 3x3x3 }\n", "unexpected end of statement", 1, 12, hint)


# --- brackets ----------------------------------------------------------------


def test_unclosed_network_brace():
    text = "network n {\n  input 3x32x32\n  repeat 2 { relu }\n"
    assert_error(text, "'{' is never closed", 1, 11, "add the matching '}'")


def test_unclosed_inner_brace_is_found_by_indentation():
    """The last '}' closes the residual, so the network's '{' is left open; but the
    indentation shows that the residual is the one missing its '}'."""
    text = net("residual {", "  conv 3x3/3 pad 1", "", "relu")
    assert_error(text, "'{' is never closed", 3, 12, "add the matching '}'")
    text = net("residual {", "  relu", "}", "repeat 2 {", "  relu")
    assert_error(text, "'{' is never closed", 6, 12, "add the matching '}'")


def test_unclosed_parenthesis_before_a_brace():
    assert_error(net("conv 3x3/(3 + 4"), "'(' is never closed", 3, 12, "add the matching ')'")


def test_unmatched_closing_brace():
    assert_error(net("relu }"), "unmatched '}'", 4, 1)


def test_unmatched_closing_parenthesis():
    assert_error(net("repeat 2 { relu )"), "unexpected ')'", 3, 19, "expected end of statement or }")


# --- names -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, word, what, column",
    [
        ("block relu(c) { conv 3x3/c }", "relu", "block", 7),
        ("let conv = 3", "conv", "constant", 5),
        ("block b(repeat) { relu }", "repeat", "block parameter", 9),
        ("network input { input 3x32x32 }", "input", "network", 9),
    ],
)
def test_reserved_words_cannot_be_names(text, word, what, column):
    message = f"'{word}' is a reserved word and cannot name a {what}"
    assert_error(text + "\nnetwork n { input 3x3x3 }\n", message, 1, column)


def test_parameter_listed_twice():
    assert_error("block b(c, c) { relu }", "parameter 'c' is listed twice", 1, 12)


def test_number_too_long():
    text = f"let x = {'1' * 101}\nnetwork n {{ input 3x3x3 }}\n"
    assert_error(text, "number too long", 1, 9)


# --- files -------------------------------------------------------------------


def test_not_utf8_points_at_the_bad_byte(tmp_path):
    path = tmp_path / "net.cnn"
    path.write_bytes("network n {\n  input 3x3x3 # café\n}\n".encode("latin-1"))
    with pytest.raises(CnncError) as info:
        load(path)
    e = info.value
    assert e.message == "not UTF-8 text: byte 0xe9"
    assert (e.loc.line, e.loc.column) == (2, 20)
    assert e.hint == "save the file as UTF-8"


def test_excerpt_counts_lines_as_the_lexer_does():
    """A form feed or U+2028 in a comment is not a line break; CRLF shows without '\\r'."""
    e = error("# a\x0cb \u2028 c\r\nnetwork n {\r\n  input 3x3x3\r\n  rleu\r\n}\r\n")
    assert str(e).splitlines()[:3] == [
        "net.cnn:4:3: error: unknown layer or block 'rleu'",
        "    4 |   rleu",
        "      |   ^~~~",
    ]


# --- found by fuzzing (tests/test_fuzz.py) ------------------------------------


def test_import_path_with_a_nul_byte():
    """Was a ValueError from pathlib."""
    assert_error('import "lib.cnn\x00"', "cannot import 'lib.cnn\x00': embedded null byte", 1, 1)


def test_parsing_from_several_threads_gives_each_its_own_result():
    """The shared post-lexer is used by one parse at a time: threads see their own files and errors."""
    from concurrent.futures import ThreadPoolExecutor

    from cnnc.syntax import parse

    def one(i: int):
        good = f"network n{i} {{\n  input 3x8x8\n  conv 3x3/{i + 1}\n}}\n"
        bad = f"network m{i} {{\n  input 3x8x8\n  conv 3x3/{i + 1} strid 2\n}}\n"
        names = [parse(good, f"good{i}.cnn").networks[0].name]
        try:
            parse(bad, f"bad{i}.cnn")
        except CnncError as error:
            names.append((error.loc.file, error.loc.line))
        return names

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(256)))
    assert results == [[f"n{i}", (f"bad{i}.cnn", 3)] for i in range(256)]

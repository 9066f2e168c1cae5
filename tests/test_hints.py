"""Errors for mistakes people make often: an option on the next line, lr given twice."""

import pytest

from cnnc.errors import CnncError
from tests.conftest import compile_text


@pytest.mark.parametrize("line", ["stride 2", "nobias", "pad 1"])
def test_option_on_the_next_line_says_options_stay_on_their_line(line):
    with pytest.raises(CnncError) as error:
        compile_text(f"network t {{\n  input 3x8x8\n  conv 3x3/4\n  {line}\n}}\n")
    assert error.value.message == f"'{line.split()[0]}' is an option, not a statement"
    assert (error.value.loc.line, error.value.loc.column) == (4, 3)
    assert "options stay on their statement's line" in error.value.hint


def test_a_block_named_like_an_option_is_still_usable():
    graph = compile_text("block pad { relu }\nnetwork t { input 3x8x8\n conv 3x3/4\n pad }")
    assert graph.output.name == "pad1/relu1"


def test_learning_rate_given_twice_in_the_train_section():
    with pytest.raises(CnncError) as error:
        compile_text("network t { input 4; fc 2\n train { lr 0.1\n optimizer sgd lr 0.2 } }")
    assert error.value.message == "the learning rate is set twice: by 'lr' and on the optimizer line"
    assert error.value.loc.line == 3

"""Errors found after parsing: structure, names, blocks, values, shapes, training.

Each test pins the exact message, line, column and hint of one malformed input.
"""

import pytest

from cnnc.api import loads
from cnnc.errors import CnncError
from tests.test_errors import assert_error, error, net

# --- network structure --------------------------------------------------------


def test_missing_input():
    hint = "begin the network with `input CxHxW`, e.g. `input 3x224x224`"
    assert_error("network n {\n  relu\n}\n", "network 'n' must start with an input statement", 2, 3, hint)
    assert_error("network n {\n}\n", "network 'n' must start with an input statement", 1, 1, hint)


def test_input_not_first_points_at_the_input():
    text = "network n {\n  relu\n  input 3x32x32\n}\n"
    hint = "move it above line 2, the network's first statement"
    assert_error(text, "'input' must be the first statement of a network", 3, 3, hint)


def test_second_input():
    assert_error(net("input 3x32x32"), "'input' must be the first statement of a network", 3, 3)


def test_train_not_last():
    assert_error(net("train { batch 3 }", "relu"), "'train' must be the last statement of a network", 3, 3)


def test_input_with_two_factors():
    assert_error("network n {\n  input 3x32\n}\n", "input must be CxHxW (or N for a vector)", 2, 3)


def test_duplicate_network_block_and_constant():
    first = "the first is at net.cnn:1:1"
    two_nets = "network n { input 3x3x3 }\nnetwork n { input 3x3x3 }\n"
    assert_error(two_nets, f"network 'n' is defined twice; {first}", 2, 1)
    two_blocks = "block a { relu }\nblock a { relu }\n" + net("a")
    assert_error(two_blocks, f"block 'a' is defined twice; {first}", 2, 1)
    two_lets = "let w = 3\nlet w = 4\n" + net("relu")
    assert_error(two_lets, f"constant 'w' is defined twice; {first}", 2, 1)


def test_duplicate_option():
    assert_error(net("conv 3x3/8 stride 2 stride 1"), "option 'stride' is given twice", 3, 23)
    assert_error(net("conv 3x3/8 pad 1 pad 1"), "option 'pad' is given twice", 3, 20)


def test_network_flag_names_a_missing_network():
    e = error(net("relu"), network="m")
    assert (e.message, e.loc, e.hint) == ("net.cnn: no network named 'm'", None, "it has: n")
    e = error(net("relu"), network="nn")
    assert e.hint == "did you mean 'n'?"


def test_file_without_a_network():
    e = error("block b { relu }\n")
    assert (e.message, e.hint) == ("net.cnn: defines no network", "add `network NAME { input CxHxW ... }`")


# --- names and blocks ---------------------------------------------------------


def test_unknown_name_in_an_expression():
    text = "let width = 3\n" + net("conv 3x3/widht")
    assert_error(text, "unknown name 'widht'", 4, 12, "did you mean 'width'?")
    text = "block s(width) { conv 3x3/widht }\n" + net("s(3)")
    assert_error(text, "unknown name 'widht'", 1, 27, "did you mean 'width'?")


def test_misspelled_block_name():
    text = "block stage(c) { conv 3x3/c }\n" + net("stgae(3)")
    assert_error(text, "unknown layer or block 'stgae'", 4, 3, "did you mean 'stage'?")


def test_wrong_argument_count():
    text = "block stage(c) { conv 3x3/c }\n" + net("stage(3, 4)")
    message = "block 'stage' takes 1 argument (c), but 2 were given"
    assert_error(text, message, 4, 3, "'stage' is defined at net.cnn:1:1")
    text = "block stage(c) { conv 3x3/c }\n" + net("stage")
    message = "block 'stage' takes 1 argument (c), but 0 were given"
    assert_error(text, message, 4, 3, "'stage' is defined at net.cnn:1:1")
    text = "block s { relu }\n" + net("s(1)")
    assert_error(text, "block 's' takes 0 arguments, but 1 was given", 4, 3, "'s' is defined at net.cnn:1:1")


def test_direct_recursion():
    text = "block a { relu; a }\n" + net("a")
    assert_error(text, "block 'a' uses itself: a -> a", 1, 17, "blocks cannot be recursive")


def test_mutual_recursion():
    text = "block a { relu; b }\nblock b { relu; a }\n" + net("a")
    assert_error(text, "block 'a' uses itself: a -> b -> a", 2, 17, "blocks cannot be recursive")


def test_constant_that_depends_on_itself():
    text = "let a = b\nlet b = a\n" + net("conv 3x3/a")
    assert_error(text, "constant 'a' depends on itself: a -> b -> a", 1, 1)


# --- values -------------------------------------------------------------------


def test_division_by_zero():
    assert_error("let c = 3\n" + net("conv 3x3/(c // 0)"), "division by zero", 4, 18)
    text = "let c = 3\n" + net("conv 3x3/(c // (c - 3))")
    assert_error(text, "division by zero", 4, 19, "(c - 3) = 0")


def test_non_positive_sizes():
    assert_error(net("conv 3x3/(4 - 4)"), "channel count must be positive, got 0", 3, 13, "(4 - 4) = 0")
    assert_error(net("repeat 0 { relu }"), "repeat count must be positive, got 0", 3, 10)
    assert_error(net("conv 0x3/4"), "kernel size must be positive, got 0", 3, 8)
    assert_error(net("conv 3x3/4 stride 0"), "stride must be positive, got 0", 3, 21)
    assert_error(net("conv 3x3/4 pad (0 - 1)"), "padding must be at least 0, got -1", 3, 19, "(0 - 1) = -1")


def test_non_integer_sizes():
    text = "let c = 3\n" + net("conv 3x3/(c * 1.5)")
    assert_error(text, "channel count must be a whole number, got 4.5", 4, 13, "(c * 1.5) = 4.5")
    assert_error(net("fc 2.5"), "fc size must be a whole number, got 2.5", 3, 6)


def test_not_a_finite_number():
    text = net("dropout (1e308 * 10.0 - 1e308 * 10.0)")
    hint = "((1e+308 * 10) - (1e+308 * 10)) = nan"
    assert_error(text, "dropout probability must be a finite number, got nan", 3, 12, hint)
    hint = "(1e+308 * 1e+308) = inf"
    assert_error(net("conv 3x3/(1e308 * 1e308)"), "channel count must be a finite number, got inf", 3, 13, hint)


def test_numbers_out_of_range():
    assert_error(net("dropout 1"), "dropout probability must be in [0.0, 1.0), got 1", 3, 11)
    assert_error(net("conv 3x3/8 stride 1x2x3"), "stride must be N or HxW, got 3 factors", 3, 21)


# --- shapes -------------------------------------------------------------------


def test_output_smaller_than_one_shows_the_size_rule():
    text = "network n {\n  input 3x5x5\n  conv 7x7/8\n}\n"
    message = "conv1: conv output would have -1 rows: the input is too small"
    assert_error(text, message, 3, 3, "(N + 2P - F)/S + 1 = (5 + 2*0 - 7)/1 + 1 = -1")


def test_residual_shape_mismatch_shows_both_shapes():
    message = "residual1: residual shapes differ: body gives 8x32x32, shortcut gives 3x32x32"
    hint = "the body must keep its input's shape, or give a shortcut { ... } that matches it"
    assert_error(net("residual { conv 3x3/8 pad 1 }"), message, 3, 3, hint)


def test_concat_spatial_mismatch_lists_branch_shapes():
    message = "concat1: concat branches must agree in everything but channels"
    text = net("concat { branch { conv 3x3/8 } branch { conv 1x1/8 } }")
    assert_error(text, message, 3, 3, "branch outputs: 8x30x30, 8x32x32")
    text = net("concat { identity; branch { pool max 2x2 } }")
    assert_error(text, message, 3, 3, "branch outputs: 3x32x32, 3x16x16")


def test_groups_must_divide_channels():
    assert_error(net("conv 3x3/8 groups 2"), "conv1: groups 2 does not divide the 3 input channels", 3, 3)
    text = net("conv 3x3/8 groups 3")
    assert_error(text, "conv1: groups 3 does not divide the 8 output channels", 3, 3)


def test_maxout_must_divide_channels():
    message = "maxout1: maxout 2 needs a channel count divisible by 2, got 3"
    assert_error(net("maxout 2"), message, 3, 3, "3 channels would leave 1 over")


def test_pad_same_needs_stride_one():
    message = "'pad same' needs stride 1 (stride is 2); give the padding explicitly"
    assert_error(net("conv 3x3/8 stride 2 pad same"), message, 3, 23)


def test_pad_same_with_an_even_kernel():
    message = "'pad same' is not exact for a kernel of 4: it would need 3 padding split over two sides"
    assert_error(net("conv 4x4/8 pad same"), message, 3, 14)


def test_spatial_layer_after_fc():
    hint = "feature maps become a vector at an fc or flatten (or the network's input is one)"
    assert_error(net("fc 10", "conv 3x3/3"), "conv1: conv needs a CxHxW input, got the vector 10", 4, 3, hint)


def test_errors_inside_blocks_name_the_block_path():
    text = "block b(c) { conv 3x3/c groups 2 }\n" + net("b(8)")
    assert_error(text, "b1/conv1: groups 2 does not divide the 3 input channels", 1, 14)


# --- the dropped-rows warning and --strict ------------------------------------

DROPS = net("conv 3x3/8 stride 2")
DROPPED = (
    "conv1: drops the last 1 row ((32 + 2*0 - 3)/2 + 1 = 15 is not exact) "
    "and 1 column ((32 + 2*0 - 3)/2 + 1 = 15 is not exact): no window reaches them"
)


def test_dropped_rows_warning_text():
    warnings = loads(DROPS, file="net.cnn").meta["warnings"]
    assert len(warnings) == 1
    assert warnings[0].format() == (
        f"net.cnn:3:3: warning: {DROPPED}\n    3 |   conv 3x3/8 stride 2\n      |   ^~~~~~~~~~~~~~~~~~~"
    )


def test_strict_turns_the_warning_into_an_error():
    assert_error(DROPS, DROPPED, 3, 3, "--strict makes this an error", strict=True)


# --- training section ---------------------------------------------------------


def train(*settings: str) -> str:
    return net("fc 10", "train {", *(f"  {s}" for s in settings), "}")


def test_unknown_loss_points_at_its_name():
    assert_error(train("loss crossentropy"), "unknown loss 'crossentropy'", 5, 10, "did you mean 'cross_entropy'?")
    assert_error(train("loss hinge"), "unknown loss 'hinge'", 5, 10, "choose one of cross_entropy, mse, bce")


def test_unknown_optimizer_points_at_its_name():
    assert_error(train("optimizer adamw lr 0.1"), "unknown optimizer 'adamw'", 5, 15, "did you mean 'adam'?")


def test_option_of_another_optimizer():
    hint = "sgd takes: lr, momentum, nesterov"
    assert_error(train("optimizer sgd lr 0.1 beta1 0.9"), "optimizer sgd has no option 'beta1'", 5, 26, hint)


def test_misspelled_train_setting():
    assert_error(train("optimiser sgd"), "unexpected 'optimiser'", 5, 5, "did you mean 'optimizer'?")


def test_train_setting_given_twice():
    assert_error(train("loss mse", "loss bce"), "'loss' is set twice in the train section", 6, 5)
    assert_error(train("optimizer sgd lr 0.1 lr 0.2"), "option 'lr' is given twice", 5, 26)


@pytest.mark.parametrize("setting", ["batch 0", "epochs 0"])
def test_train_counts_must_be_positive(setting):
    name = setting.split()[0]
    assert_error(train(setting), f"{name} must be positive, got 0", 5, len(name) + 6)


def test_only_cnnc_errors_escape():
    with pytest.raises(CnncError):
        loads(train("optimizer sgd lr 0.1 nesterov"), file="net.cnn")


@pytest.mark.parametrize(("word", "hint"), [("sam", "did you mean 'same'?"), ("vaild", "did you mean 'valid'?")])
def test_a_misspelled_padding_word_gets_a_hint(word, hint):
    assert_error(net(f"conv 3x3/8 pad {word}"), f"unknown name '{word}'", 3, 18, hint)

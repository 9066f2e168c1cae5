"""The size rule (N + 2P - D(F-1) - 1)/S + 1, floor and ceil, and dropped rows."""

import pytest

from cnnc.ops.size import same_padding, window_out


@pytest.mark.parametrize(
    ("n", "f", "s", "p", "d", "out"),
    [
        (7, 3, 1, 0, 1, 5),  # the seed notes' examples
        (7, 3, 2, 0, 1, 3),
        (7, 3, 3, 0, 1, 2),  # 2.33: the last column is dropped
        (224, 3, 1, 1, 1, 224),
        (224, 2, 2, 0, 1, 112),
        (224, 7, 2, 3, 1, 112),
        (227, 11, 4, 0, 1, 55),
        (32, 3, 1, 2, 2, 32),  # dilation 2 sees 5x5
        (5, 7, 1, 0, 1, -1),
    ],
)
def test_floor_size_rule(n, f, s, p, d, out):
    assert window_out(n, f, s, p, d).out == out


def test_ceil_counts_a_partial_last_window():
    # GoogLeNet: 112 -> 56 with a 3x3/2 max pool in Caffe's ceil mode
    assert window_out(112, 3, 2, 0, ceil=True).out == 56
    assert window_out(112, 3, 2, 0).out == 55


def test_pool_ceil_drops_window_starting_in_padding():
    # PyTorch: ceil((5 + 2 - 2)/2) + 1 = 4, but the 4th window would start at
    # padded index 6 >= 5 + 1 (input plus left padding), so it is dropped.
    assert window_out(5, 2, 2, 1, ceil=True).out == 3


def test_dropped_counts_only_real_input_rows():
    assert window_out(7, 3, 3, 0).dropped == 1
    assert window_out(56, 1, 2, 0).dropped == 1  # ResNet's 1x1 stride-2 shortcut
    # 224 + 6 - 7 = 223 is odd, but the unreached row is right padding
    assert window_out(224, 7, 2, 3).dropped == 0
    assert window_out(112, 3, 2, 1).dropped == 0


def test_formula_shows_the_arithmetic():
    assert window_out(5, 7, 1, 0).formula == "(5 + 2*0 - 7)/1 + 1 = -1"
    assert window_out(9, 3, 1, 0, 2).formula == "(9 + 2*0 - 2*(3-1) - 1)/1 + 1 = 5"


def test_same_padding_only_where_exact():
    assert same_padding(3, 1, 1) == 1
    assert same_padding(3, 2, 1) == 2
    assert "stride 1" in same_padding(3, 1, 2)
    assert "not exact" in same_padding(4, 1, 1)

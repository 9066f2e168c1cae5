"""The kernels' index helpers agree with the size rule of cnnc.ops.size and with brute force."""

from __future__ import annotations

import itertools

from cnnc.backend.indexing import input_index, out_size, tap_range, window_bounds
from cnnc.ops.size import window_out

GRID = list(itertools.product(range(1, 9), range(1, 4), range(1, 4), range(0, 4), range(1, 3)))


def test_out_size_mirrors_the_size_rule_floor_and_ceil():
    for n, kernel, stride, pad, dilation in GRID:
        for ceil in (False, True):
            assert (
                out_size(n, kernel, stride, pad, dilation, ceil)
                == window_out(n, kernel, stride, pad, dilation, ceil).out
            ), (n, kernel, stride, pad, dilation, ceil)


def test_tap_range_holds_exactly_the_outputs_whose_tap_is_inside_the_input():
    for n, kernel, stride, pad, dilation in GRID:
        n_out = out_size(n, kernel, stride, pad, dilation, False)
        for k in range(kernel):
            lo, hi = tap_range(k, n, max(n_out, 0), stride, pad, dilation)
            inside = [o for o in range(max(n_out, 0)) if 0 <= input_index(o, k, stride, pad, dilation) < n]
            assert list(range(lo, hi)) == inside, (n, kernel, stride, pad, dilation, k)


def test_window_bounds_clip_to_the_input_and_are_empty_in_the_padding():
    assert window_bounds(0, 3, 2, 1, 5) == (0, 2)
    assert window_bounds(2, 3, 2, 1, 5) == (3, 5)
    assert window_bounds(3, 3, 2, 1, 5) == (5, 5)  # a ceil-mode window starting past the input
    assert window_bounds(0, 2, 2, 3, 4) == (0, 0)  # pad >= kernel: wholly in the padding

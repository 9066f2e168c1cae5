"""The size rule of convolution and pooling: its one implementation.

out = floor((N + 2P - D*(F-1) - 1) / S) + 1, or with ceil instead of floor as
in Caffe and PyTorch's ceil_mode, where a window that would start past the
input and its left padding is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    out: int  # output length
    dropped: int  # input rows (or columns) no window reaches
    formula: str  # the arithmetic, for error messages


def window_out(n: int, kernel: int, stride: int, pad: int, dilation: int = 1, ceil: bool = False) -> Window:
    span = dilation * (kernel - 1) + 1
    numerator = n + 2 * pad - span
    if ceil:
        out = -(-numerator // stride) + 1
        if out > 1 and (out - 1) * stride >= n + pad:
            out -= 1  # the last window would start in the right padding
    else:
        out = numerator // stride + 1
    last_end = (out - 1) * stride + span  # end of the last window, padded coordinates
    dropped = max(0, pad + n - last_end) if out >= 1 else 0
    return Window(out, dropped, _formula(n, kernel, stride, pad, dilation, ceil, out))


def _formula(n, kernel, stride, pad, dilation, ceil, out) -> str:
    f = str(kernel) if dilation == 1 else f"{dilation}*({kernel}-1) - 1"
    text = f"({n} + 2*{pad} - {f})/{stride}"
    return f"{'ceil' + text if ceil else text} + 1 = {out}"


def same_padding(kernel: int, dilation: int, stride: int) -> int | str:
    """The padding that keeps the size at stride 1, or why there is none."""
    if stride != 1:
        return f"'pad same' needs stride 1 (stride is {stride}); give the padding explicitly"
    total = dilation * (kernel - 1)
    if total % 2:
        return f"'pad same' is not exact for a kernel of {kernel}: it would need {total} padding split over two sides"
    return total // 2

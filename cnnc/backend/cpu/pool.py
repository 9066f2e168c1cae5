"""pool max / avg / l2, windowed or global: forward and backward.

Windows are clipped to the input (cnnc.backend.indexing.window_bounds), which
is what the reference's padding means: padding never wins a max, never counts
in an average (count_include_pad=False), adds nothing to a sum of squares, and
the part of a ceil-mode window past the input is treated the same way.

    max: y = max over the window, argmax kept for backward (dx[argmax] += dy)
    avg: y = sum / count,           dx[window] += dy / count
    l2:  y = sqrt(sum of x^2),      dx[window] += dy * x / y   (0 where y == 0)

Windowed pools are Numba loops over (image, channel) planes (jit.py's twins;
in the parallel one a job writes only its own plane, so overlapping windows
cannot race). avg and l2 share one loop (a flag picks the formula), max has
its own: a net compiles only the modes it uses. The 2x2, stride 2, unpadded max and avg pools take a branch-free kernel
(pool_2x2.py). Global pools are one reduction over each plane: numpy does them.
"""

from __future__ import annotations

import numpy as np

from .. import Kernel
from .pool_2x2 import avg_pool_2x2, avg_pool_2x2_backward, max_pool_2x2
from .pool_loops import max_pool_backward, max_pool_forward, sum_pool_backward, sum_pool_forward
from .registry import register


def window(node):
    """(KH, KW, SH, SW, PH, PW) in the order the loops take them."""
    a = node.attrs
    return (*a["kernel"], *a["stride"], *a["pad"])


def pool_forward(node, inputs, tensors, ctx):
    x, mode = np.ascontiguousarray(inputs[0]), node.attrs["mode"]
    if node.attrs["global"]:
        return _global_forward(x, mode, ctx.training)
    out = np.empty((x.shape[0], *node.meta["shape"]), dtype=x.dtype)
    two_by_two = _two_by_two(node, x, out)
    if mode == "max":
        argmax = np.empty(out.shape, dtype=np.int64)
        if two_by_two:
            max_pool_2x2(x, out, argmax)
        else:
            max_pool_forward(x, out, argmax, *window(node))
        return out, ((x.shape, argmax) if ctx.training else None)  # only the winners' positions
    if mode == "avg" and two_by_two:
        avg_pool_2x2(x, out)
    else:
        sum_pool_forward(x, out, mode == "l2", *window(node))
    return out, ((x, out) if ctx.training else None)


def _two_by_two(node, x, out) -> bool:
    """A 2x2, stride-2, unpadded pool whose every window lies inside the input (a ceil-mode
    pool of an odd size has one that does not): pool_2x2.py's kernels apply."""
    inside = 2 * out.shape[2] <= x.shape[2] and 2 * out.shape[3] <= x.shape[3]
    return window(node) == (2, 2, 2, 2, 0, 0) and inside


def pool_backward(node, grad_output, saved, tensors, grads, ctx):
    dy, mode = np.ascontiguousarray(grad_output), node.attrs["mode"]
    if node.attrs["global"]:
        return [_global_backward(dy, mode, saved)]
    if mode == "max":
        shape, argmax = saved
        dx = np.empty(shape, dtype=dy.dtype)
        max_pool_backward(dy, argmax, dx)
        return [dx]
    x, out = saved
    dx = np.empty_like(x)
    if mode == "avg" and _two_by_two(node, x, out):
        avg_pool_2x2_backward(dy, dx)
    else:
        sum_pool_backward(dy, x, out, dx, mode == "l2", *window(node))
    return [dx]


def _global_forward(x, mode, training):
    """One window per plane: y[n, c] = max, mean or sqrt(sum of squares) over H x W."""
    planes = x.reshape(x.shape[0], x.shape[1], -1)
    if mode == "max":
        argmax = planes.argmax(axis=2)[..., None]  # the first max, or the first NaN: as the windowed loop
        out = np.take_along_axis(planes, argmax, axis=2)[..., None]
        return out, ((x.shape, argmax) if training else None)
    out = planes.mean(axis=2) if mode == "avg" else np.sqrt(np.einsum("ncp,ncp->nc", planes, planes))
    out = out.reshape(*out.shape, 1, 1)
    return out, ((x, out) if training else None)


def _global_backward(dy, mode, saved):
    if mode == "max":
        shape, argmax = saved
        dx = np.zeros((shape[0], shape[1], shape[2] * shape[3]), dtype=dy.dtype)
        np.put_along_axis(dx, argmax, dy.reshape(*argmax.shape), axis=2)
        return dx.reshape(shape)
    x, out = saved
    if mode == "avg":
        return np.broadcast_to(dy / (x.shape[2] * x.shape[3]), x.shape).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(out > 0, dy / out, 0)  # d sqrt(s)/dx = x / sqrt(s); 0 where y == 0
    return (share * x).astype(dy.dtype)


register("pool")(Kernel(pool_forward, pool_backward))

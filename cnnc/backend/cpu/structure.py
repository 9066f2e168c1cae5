"""CPU kernels of the graph's structure: concat and residual add.

Identity and dropout are in elementwise.py, flatten in dense.py (with fc), slice with the fused ops.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .. import Kernel
from .jit import parallel_loop
from .registry import register


def concat_forward(node, inputs, tensors, ctx):
    """Along channels: each image's block of one input is contiguous, so this is one memcpy each."""
    return np.concatenate(inputs, axis=1), None


def concat_backward(node, grad, saved, tensors, grads, ctx):
    """Each input gets its channel range of the gradient (copied: kernels take contiguous arrays)."""
    bounds = np.cumsum([0] + [source.meta["shape"][0] for source in node.inputs])
    return [np.ascontiguousarray(grad[:, start:stop]) for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


register("concat")(Kernel(concat_forward, concat_backward))


@parallel_loop
def add_loop(a, b, out):
    for i in prange(out.size):
        out[i] = a[i] + b[i]


def add_forward(node, inputs, tensors, ctx):
    """The residual sum, on both cores (numpy's add runs on one)."""
    a, b = (np.ascontiguousarray(x) for x in inputs)
    out = np.empty_like(a)
    add_loop(a.reshape(-1), b.reshape(-1), out.reshape(-1))
    return out, None


def add_backward(node, grad, saved, tensors, grads, ctx):
    """Both inputs get the gradient itself, not copies: kernels never write into grad_output."""
    return [grad, grad]


register("add")(Kernel(add_forward, add_backward))

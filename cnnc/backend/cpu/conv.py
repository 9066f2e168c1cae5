"""conv: forward and backward as BLAS GEMMs over im2col columns.

Per image n and group g (K = C/G * KH * KW rows, P = OH * OW columns):

    out[n, g]  = W[g] (O/G x K)  @  cols[n, g] (K x P)          (+ bias)
    dW[g]     += dy[n, g] (O/G x P)  @  cols[n, g].T
    dcols[n,g] = W[g].T  @  dy[n, g],   dx[n] = col2im(dcols[n])
    dbias      = sum of dy over n, y, x

The GEMMs are numpy ``matmul`` calls on stacks of matrices (one BLAS call per
matrix, threaded by BLAS, outside any prange); im2col and col2im are parallel
Numba loops (cnnc.backend.cpu.im2col). Images go through in chunks so that the
column buffer stays bounded; backward recomputes the columns from the saved
input instead of keeping them (9x the input for a 3x3 conv). A 1x1, stride 1,
unpadded conv needs no columns at all: cols[n] is x[n] reshaped. Depthwise
convs take a direct kernel (cnnc.backend.cpu.depthwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import Kernel
from .depthwise import depthwise_forward, depthwise_input_grad, depthwise_weight_grad
from .im2col import col2im, im2col
from .registry import register

# Elements of column buffer per chunk of images (at least one image per chunk):
# 16 MiB in float32, enough for BLAS to run at full speed on each product.
COLUMN_BUDGET = 1 << 22


@dataclass(frozen=True)
class Geometry:
    """A conv node's shapes, from its attrs and its input and output shapes."""

    batch: int
    channels: int
    out_channels: int
    groups: int
    out_h: int
    out_w: int
    kernel: tuple
    window: tuple  # (SH, SW, PH, PW, DH, DW), the order the Numba loops take

    @property
    def rows(self) -> int:
        """Rows of one group's column matrix: C/G * KH * KW."""
        return self.channels // self.groups * self.kernel[0] * self.kernel[1]

    @property
    def pointwise(self) -> bool:
        """1x1, stride 1, no padding: the columns are the input itself."""
        return self.kernel == (1, 1) and self.window[:4] == (1, 1, 0, 0)

    @property
    def depthwise(self) -> bool:
        return self.groups == self.channels and self.groups > 1

    def chunks(self):
        """[n0, n1) ranges of images whose columns fit COLUMN_BUDGET together."""
        per_image = self.groups * self.rows * self.out_h * self.out_w
        step = max(1, COLUMN_BUDGET // max(per_image, 1))
        return [(n0, min(n0 + step, self.batch)) for n0 in range(0, self.batch, step)]


def geometry(node, x) -> Geometry:
    a = node.attrs
    (sh, sw), (ph, pw), (dh, dw) = a["stride"], a["pad"], a["dilation"]
    out_h, out_w = node.meta["shape"][1:]
    return Geometry(x.shape[0], x.shape[1], a["out_channels"], a["groups"], out_h, out_w,
                    tuple(a["kernel"]), (sh, sw, ph, pw, dh, dw))  # fmt: skip


def columns(x, g: Geometry, n0: int, n1: int):
    """The column matrices of images [n0, n1) as (n1 - n0, G, K, P)."""
    if g.pointwise:
        return x[n0:n1].reshape(n1 - n0, g.groups, g.rows, g.out_h * g.out_w)
    cols = np.empty((n1 - n0, g.groups * g.rows, g.out_h * g.out_w), dtype=x.dtype)
    im2col(x, n0, cols, g.out_h, g.out_w, *g.kernel, *g.window)
    return cols.reshape(n1 - n0, g.groups, g.rows, g.out_h * g.out_w)


def conv_forward(node, inputs, tensors, ctx):
    x = np.ascontiguousarray(inputs[0])
    g = geometry(node, x)
    weight = tensors["weight"]
    out = np.empty((g.batch, g.out_channels, g.out_h, g.out_w), dtype=x.dtype)
    if g.depthwise:
        depthwise_forward(x, weight, out, *g.window)
    else:
        w = weight.reshape(g.groups, g.out_channels // g.groups, g.rows)
        stacked = out.reshape(g.batch, g.groups, g.out_channels // g.groups, g.out_h * g.out_w)
        for n0, n1 in g.chunks():
            np.matmul(w, columns(x, g, n0, n1), out=stacked[n0:n1])
    if node.attrs["bias"]:
        out += tensors["bias"].reshape(1, -1, 1, 1)
    return out, (x if ctx.training else None)


def conv_backward(node, grad_output, saved, tensors, grads, ctx):
    x = saved
    g = geometry(node, x)
    dy = np.ascontiguousarray(grad_output)
    if node.attrs["bias"]:
        grads["bias"] += dy.sum(axis=(0, 2, 3))
    if g.depthwise:
        return [_depthwise_backward(x, dy, g, tensors["weight"], grads)]
    w = tensors["weight"].reshape(g.groups, g.out_channels // g.groups, g.rows)
    dw = grads["weight"].reshape(w.shape)
    dy_stacked = dy.reshape(g.batch, g.groups, g.out_channels // g.groups, g.out_h * g.out_w)
    dx = np.zeros_like(x)
    w_t = w.transpose(0, 2, 1)
    for n0, n1 in g.chunks():
        cols = columns(x, g, n0, n1)
        dw += np.matmul(dy_stacked[n0:n1], cols.transpose(0, 1, 3, 2)).sum(axis=0)
        if g.pointwise:
            np.matmul(w_t, dy_stacked[n0:n1], out=dx[n0:n1].reshape(cols.shape))
        else:
            dcols = np.matmul(w_t, dy_stacked[n0:n1]).reshape(n1 - n0, g.groups * g.rows, -1)
            col2im(dcols, dx, n0, g.out_h, g.out_w, *g.kernel, *g.window)
    return [dx]


def _depthwise_backward(x, dy, g: Geometry, weight, grads):
    depthwise_weight_grad(dy, x, grads["weight"], *g.window)
    dx = np.empty_like(x)
    depthwise_input_grad(dy, weight, dx, *g.window)
    return dx


register("conv")(Kernel(conv_forward, conv_backward))

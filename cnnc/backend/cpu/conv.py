"""conv: the direct kernels for float32 convs, else BLAS GEMMs over im2col columns.

A float32 conv with no groups or dilation and padding under its kernel runs
the direct kernels (2-3x faster than the GEMMs here; saved for backward: its
padded planes): cnnc.backend.cpu.direct_conv at stride 1 (a 1x1 conv there
is a GEMM without im2col already), strided_conv through the input's phases
otherwise. The rest (grouped, dilated and stride-1 1x1 convs, and float64 for
the gradient checks) are GEMMs:

For a chunk of images and group g (K = C/G * KH * KW rows; the columns of the
chunk's images side by side, P = OH * OW each):

    out[:, g]  = W[g] (O/G x K)  @  cols[g] (K x chunk*P)           (+ bias)
    dW[g]     += dy[:, g] (O/G x chunk*P)  @  cols[g].T
    dcols[g]   = W[g].T  @  dy[:, g],   dx = col2im(dcols)
    dbias      = sum of dy over n, y, x

One GEMM per group per chunk: numpy ``matmul`` (threaded by BLAS as
cnnc.backend.cpu.blas chooses, outside any prange); im2col and col2im are
Numba loops (cnnc.backend.cpu.im2col).
Chunks keep the column buffer bounded and make small layers one wide GEMM
rather than one thin GEMM per image; a chunk of one image writes its output
in place, a larger one moves (O, chunk, P) to (chunk, O, P) after. Training
keeps the columns for backward when the batch's fit KEEP_COLUMNS; otherwise
backward recomputes them from the saved input rather than keep 9x the input
of a 3x3 conv. A 1x1, stride 1, unpadded conv of one image needs no
columns at all: they are x[n] itself. Depthwise convs take a direct kernel
(cnnc.backend.cpu.depthwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import Kernel
from . import direct_conv, strided_conv
from .blas import matmul
from .depthwise import depthwise_forward, depthwise_input_grad, depthwise_weight_grad
from .im2col import col2im, im2col
from .registry import register

# Elements of column buffer per chunk of images (at least one image per chunk):
# 2 MiB in float32. Measured on 3x3 convs of 16-128 channels (1 thread): 2^17 to
# 2^19 are fastest; 2^21 and up lose 10-30% in forward and up to 2x in backward,
# where the columns written by im2col, read by two GEMMs and scattered by
# col2im no longer stay in cache between the passes.
COLUMN_BUDGET = 1 << 19
# Training keeps the forward's columns for backward when the whole batch's
# take at most this many elements (16 MiB in float32), rather than run
# im2col again: LeNet-5's and the digits net's convs, not ResNet-20's
# first stage (37.7 MiB a layer at batch 64).
KEEP_COLUMNS = 1 << 22
# float32 convs of Geometry.direct run the direct kernels (cnnc.backend.cpu.direct),
# 2-3x faster than im2col + GEMM; False sends every conv through the GEMMs (tests).
DIRECT = True


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

    @property
    def direct(self) -> bool:
        """No dilation or groups, padding under the kernel, and not a 1x1 conv at stride 1 (a GEMM
        without im2col already): the direct kernels' case."""
        (kh, kw), (sh, sw, ph, pw, dh, dw) = self.kernel, self.window
        pointwise = (kh, kw, sh, sw) == (1, 1, 1, 1)
        return self.groups == 1 and (dh, dw) == (1, 1) and not pointwise and ph < kh and pw < kw

    def chunks(self):
        """[n0, n1) ranges of images whose columns fit COLUMN_BUDGET together, of even sizes."""
        per_image = self.groups * self.rows * self.out_h * self.out_w
        count = -(-self.batch // max(1, COLUMN_BUDGET // max(per_image, 1)))
        step = -(-self.batch // count)
        return [(n0, min(n0 + step, self.batch)) for n0 in range(0, self.batch, step)]


def geometry(node, x) -> Geometry:
    a = node.attrs
    (sh, sw), (ph, pw), (dh, dw) = a["stride"], a["pad"], a["dilation"]
    out_h, out_w = node.meta["shape"][1:]
    return Geometry(x.shape[0], x.shape[1], a["out_channels"], a["groups"], out_h, out_w,
                    tuple(a["kernel"]), (sh, sw, ph, pw, dh, dw))  # fmt: skip


def columns(x, g: Geometry, n0: int, n1: int):
    """The column matrix of images [n0, n1) as (G, K, (n1 - n0) * P)."""
    pixels = g.out_h * g.out_w
    if g.pointwise and n1 - n0 == 1:
        return x[n0].reshape(g.groups, g.rows, pixels)
    cols = np.empty((g.groups * g.rows, (n1 - n0) * pixels), dtype=x.dtype)
    im2col(x, n0, cols, 0, g.out_h, g.out_w, *g.kernel, *g.window)
    return cols.reshape(g.groups, g.rows, -1)


def row_blocks(g: Geometry):
    """[y0, y1) ranges of output rows whose columns for one image fit COLUMN_BUDGET (at least one row)."""
    step = max(1, COLUMN_BUDGET // (g.groups * g.rows * g.out_w))
    return [(y0, min(y0 + step, g.out_h)) for y0 in range(0, g.out_h, step)]


def forward_by_rows(x, w, out, g: Geometry, n: int) -> None:
    """out[n] = conv of image n, a block of output rows at a time: for an image whose columns
    exceed COLUMN_BUDGET (VGG-16's first layers at 224x224: 29M elements, 115 MB), so that each
    block's columns are still in cache when the GEMM reads them."""
    image = out[n].reshape(g.groups, g.out_channels // g.groups, g.out_h * g.out_w)
    for y0, y1 in row_blocks(g):
        cols = np.empty((g.groups * g.rows, (y1 - y0) * g.out_w), dtype=x.dtype)
        im2col(x, n, cols, y0, y1 - y0, g.out_w, *g.kernel, *g.window)
        block = matmul(w, cols.reshape(g.groups, g.rows, -1))
        image[:, :, y0 * g.out_w : y1 * g.out_w] = block


def by_group(a, g: Geometry):
    """(chunk, O, OH, OW) images as (G, O/G, chunk*P), the GEMMs' layout: a view for one image."""
    chunk, pixels = a.shape[0], g.out_h * g.out_w
    if chunk == 1:
        return a.reshape(g.groups, -1, pixels)
    return np.ascontiguousarray(a.reshape(chunk, g.out_channels, pixels).transpose(1, 0, 2)).reshape(
        g.groups, -1, chunk * pixels
    )


def goes_direct(g: Geometry, x) -> bool:
    """Whether a conv of geometry g runs the direct kernels on x (float32, Geometry.direct)."""
    return DIRECT and x.dtype == np.float32 and g.direct


def direct_forward(node, x, g: Geometry, tensors, ctx, relu: bool = False):
    """(out, saved) of conv node through the direct kernels (goes_direct), its bias added and
    ReLU applied in the crop, written into ctx.into where the executor asks."""
    bias = tensors["bias"] if node.attrs["bias"] else None
    buffer, first = ctx.into or (None, 0)
    place = direct_conv.Place(buffer, first, relu)
    stride, pad = g.window[:2], g.window[2:4]
    if stride == (1, 1):
        out, planes = direct_conv.forward(x, tensors["weight"], bias, pad, place)
    else:
        out, planes = strided_conv.forward(x, tensors["weight"], bias, stride, pad, place)
    return out, ((x, planes) if ctx.training else None)


def conv_forward(node, inputs, tensors, ctx):
    x = np.ascontiguousarray(inputs[0])
    g = geometry(node, x)
    if goes_direct(g, x):
        return direct_forward(node, x, g, tensors, ctx)
    weight = tensors["weight"]
    bias = tensors["bias"] if node.attrs["bias"] else None
    out = np.empty((g.batch, g.out_channels, g.out_h, g.out_w), dtype=x.dtype)
    kept = None
    if g.depthwise:
        depthwise_forward(x, weight, out, *g.window)
    else:
        kept = gemm_forward(x, weight.reshape(g.groups, g.out_channels // g.groups, g.rows), out, g, ctx.training)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out, ((x, kept) if ctx.training else None)


def gemm_forward(x, w, out, g: Geometry, training: bool):
    """out = the GEMMs of every chunk; returns the chunks' columns when training keeps them."""
    per_image = g.groups * g.rows * g.out_h * g.out_w
    keep = training and per_image <= COLUMN_BUDGET and per_image * g.batch <= KEEP_COLUMNS
    kept = []
    for n0, n1 in g.chunks():
        if n1 - n0 == 1 and not g.pointwise and per_image > COLUMN_BUDGET:
            forward_by_rows(x, w, out, g, n0)
            continue
        cols = columns(x, g, n0, n1)
        if n1 - n0 == 1:
            matmul(w, cols, out=by_group(out[n0:n1], g))
        else:  # (O, chunk, P) -> (chunk, O, P)
            wide = matmul(w, cols).reshape(g.out_channels, n1 - n0, -1)
            out[n0:n1].reshape(n1 - n0, g.out_channels, -1)[...] = wide.transpose(1, 0, 2)
        if keep:
            kept.append(cols)
    return kept if keep else None


def conv_backward(node, grad_output, saved, tensors, grads, ctx):
    x, kept = saved
    g = geometry(node, x)
    dy = np.ascontiguousarray(grad_output)
    if node.attrs["bias"]:
        grads["bias"] += dy.sum(axis=(0, 2, 3))
    wants_dx = ctx.needs_grad(node)
    if isinstance(kept, direct_conv.Planes):
        stride, pad = g.window[:2], g.window[2:4]
        if stride == (1, 1):
            dw, dx = direct_conv.backward(kept, dy, tensors["weight"], pad, x.shape[2:], wants_dx)
        else:
            dw, dx = strided_conv.backward(kept, dy, tensors["weight"], stride, pad, x.shape[2:], wants_dx)
        grads["weight"] += dw
        return [dx]
    if g.depthwise:
        return [_depthwise_backward(x, dy, g, tensors["weight"], grads, wants_dx)]
    w = tensors["weight"].reshape(g.groups, g.out_channels // g.groups, g.rows)
    dw = grads["weight"].reshape(w.shape)
    w_t = w.transpose(0, 2, 1)
    dx = np.zeros_like(x) if wants_dx else None
    for i, (n0, n1) in enumerate(g.chunks()):
        cols = kept[i] if kept is not None else columns(x, g, n0, n1)
        dy_g = by_group(dy[n0:n1], g)
        # dW^T = cols @ dy^T: OpenBLAS runs this orientation 20-37% faster than dy @ cols^T here
        dw += matmul(cols, dy_g.transpose(0, 2, 1)).transpose(0, 2, 1)
        if dx is None:
            continue
        if g.pointwise and n1 - n0 == 1:
            matmul(w_t, dy_g, out=dx[n0].reshape(cols.shape))
        else:
            dcols = matmul(w_t, dy_g).reshape(g.groups * g.rows, -1)
            col2im(dcols, dx, n0, g.out_h, g.out_w, *g.kernel, *g.window)
    return [dx]


def _depthwise_backward(x, dy, g: Geometry, weight, grads, wants_dx: bool):
    depthwise_weight_grad(dy, x, grads["weight"], *g.window)
    if not wants_dx:
        return None
    dx = np.empty_like(x)
    depthwise_input_grad(dy, weight, dx, *g.window)
    return dx


register("conv")(Kernel(conv_forward, conv_backward))

"""Reference forward of every op, in numpy: FORWARD[op](node, inputs, tensors, ctx).

Each follows the definition PyTorch uses, so that backends can be compared
with both; the conventions are noted where frameworks differ.
"""

from __future__ import annotations

import numpy as np

FORWARD = {}

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def forward(*ops):
    def register(fn):
        for op in ops:
            FORWARD[op] = fn
        return fn

    return register


@forward("conv")
def conv(node, inputs, tensors, ctx):
    """Sum over kernel taps of strided views times the tap's weights (no im2col)."""
    x, a = inputs[0], node.attrs
    n, channels = x.shape[:2]
    out_channels, _, h_out, w_out = (a["out_channels"], 0, *node.meta["shape"][1:])
    groups = a["groups"]
    (ph, pw), (sh, sw), (dh, dw) = a["pad"], a["stride"], a["dilation"]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    xg = xp.reshape(n, groups, channels // groups, *xp.shape[2:])
    w = tensors["weight"].reshape(groups, out_channels // groups, channels // groups, *a["kernel"])
    out = np.zeros((n, groups, out_channels // groups, h_out, w_out), dtype=x.dtype)
    for i in range(a["kernel"][0]):
        for j in range(a["kernel"][1]):
            patch = xg[
                :, :, :, i * dh : i * dh + sh * (h_out - 1) + 1 : sh, j * dw : j * dw + sw * (w_out - 1) + 1 : sw
            ]
            out += np.einsum("ngchw,goc->ngohw", patch, w[:, :, :, i, j])
    out = out.reshape(n, out_channels, h_out, w_out)
    if a["bias"]:
        out += tensors["bias"].reshape(1, -1, 1, 1)
    return out


@forward("pool")
def pool(node, inputs, tensors, ctx):
    x, a = inputs[0], node.attrs
    if a["global"]:
        return _reduce(a["mode"], x, axes=(2, 3), count=x.shape[2] * x.shape[3], keepdims=True)
    (kh, kw), (sh, sw), (ph, pw) = a["kernel"], a["stride"], a["pad"]
    h_out, w_out = node.meta["shape"][1:]
    # Pad left by P and right as far as the last window reaches (ceil mode may
    # go past the padding); padding never wins a max and never counts in an average.
    right_h = max(ph, (h_out - 1) * sh + kh - x.shape[2] - ph)
    right_w = max(pw, (w_out - 1) * sw + kw - x.shape[3] - pw)
    widths = ((0, 0), (0, 0), (ph, right_h), (pw, right_w))
    fill = -np.inf if a["mode"] == "max" else 0.0
    xp = np.pad(x, widths, constant_values=fill)
    valid = np.pad(np.ones(x.shape[2:], dtype=x.dtype), widths[2:])
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][
        :, :, :h_out, :w_out
    ]
    counts = np.lib.stride_tricks.sliding_window_view(valid, (kh, kw))[::sh, ::sw][:h_out, :w_out].sum(axis=(2, 3))
    return _reduce(a["mode"], windows, axes=(4, 5), count=counts)


def _reduce(mode, windows, axes, count, keepdims=False):
    if mode == "max":
        return windows.max(axis=axes, keepdims=keepdims)
    if mode == "avg":
        return windows.sum(axis=axes, keepdims=keepdims) / count
    return np.sqrt((windows * windows).sum(axis=axes, keepdims=keepdims))


@forward("fc")
def fc(node, inputs, tensors, ctx):
    x = inputs[0].reshape(inputs[0].shape[0], -1)
    out = x @ tensors["weight"].T
    return out + tensors["bias"] if node.attrs["bias"] else out


@forward("flatten")
def flatten(node, inputs, tensors, ctx):
    return inputs[0].reshape(inputs[0].shape[0], -1)


ELEMENTWISE = {
    "relu": lambda x, a: np.maximum(x, 0),
    "relu6": lambda x, a: np.clip(x, 0, 6),
    "sigmoid": lambda x, a: 1 / (1 + np.exp(-x)),
    "tanh": lambda x, a: np.tanh(x),
    "selu": lambda x, a: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "leaky_relu": lambda x, a: np.where(x > 0, x, a["alpha"] * x),
    "elu": lambda x, a: np.where(x > 0, x, a["alpha"] * np.expm1(np.minimum(x, 0))),
}


@forward(*ELEMENTWISE)
def elementwise(node, inputs, tensors, ctx):
    return ELEMENTWISE[node.op](inputs[0], node.attrs).astype(inputs[0].dtype)


def _per_channel(values, x):
    """A per-channel vector shaped to broadcast over x (NCHW or NF)."""
    return values.reshape(1, -1, *([1] * (x.ndim - 2)))


@forward("prelu")
def prelu(node, inputs, tensors, ctx):
    x = inputs[0]
    return np.where(x > 0, x, _per_channel(tensors["slope"], x) * x)


@forward("softmax")
def softmax(node, inputs, tensors, ctx):
    """Over channels (axis 1), shifted by the max for stability."""
    x = inputs[0]
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@forward("maxout")
def maxout(node, inputs, tensors, ctx):
    """Max over groups of k consecutive channels."""
    x, k = inputs[0], node.attrs["k"]
    return x.reshape(x.shape[0], x.shape[1] // k, k, *x.shape[2:]).max(axis=2)


@forward("bn")
def bn(node, inputs, tensors, ctx):
    """Batch statistics in training (running ones updated with the unbiased
    variance, as PyTorch), running statistics in inference."""
    x, a = inputs[0], node.attrs
    axes = (0,) + tuple(range(2, x.ndim))
    if ctx.training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        count = x.size // x.shape[1]
        m = a["momentum"]
        tensors["running_mean"][...] = (1 - m) * tensors["running_mean"] + m * mean
        tensors["running_var"][...] = (1 - m) * tensors["running_var"] + m * var * count / max(count - 1, 1)
    else:
        mean, var = tensors["running_mean"], tensors["running_var"]
    scale = tensors["scale"] / np.sqrt(var + a["eps"])
    return (x - _per_channel(mean, x)) * _per_channel(scale, x) + _per_channel(tensors["shift"], x)


@forward("lrn")
def lrn(node, inputs, tensors, ctx):
    """b_c = a_c / (k + alpha/n * sum of a^2 over n channels around c)^beta (PyTorch's
    LocalResponseNorm: the window spans n//2 channels before and (n-1)//2 after)."""
    x, a = inputs[0], node.attrs
    n = a["size"]
    squared = np.pad(x * x, ((0, 0), (n // 2, (n - 1) // 2)) + ((0, 0),) * (x.ndim - 2))
    window = sum(squared[:, i : i + x.shape[1]] for i in range(n))
    return x / (a["k"] + a["alpha"] / n * window) ** a["beta"]


@forward("dropout")
def dropout(node, inputs, tensors, ctx):
    """Inverted dropout: kept units are scaled by 1/(1-p) in training."""
    x, p = inputs[0], node.attrs["p"]
    if not ctx.training or p == 0:
        return x
    keep = ctx.rng.random(x.shape) >= p
    return x * keep / (1 - p)


@forward("identity")
def identity(node, inputs, tensors, ctx):
    return inputs[0]


@forward("concat")
def concat(node, inputs, tensors, ctx):
    return np.concatenate(inputs, axis=1)


@forward("add")
def add(node, inputs, tensors, ctx):
    return inputs[0] + inputs[1]

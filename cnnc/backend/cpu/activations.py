"""The parameter-free activations, shared by their kernels and the fused ones.

The piecewise-linear ones (relu, relu6, leaky_relu, and "none") are Numba
loops ``(x, bias, residual, out, a, b)`` over (planes, positions) arrays, N*C
planes of H*W for maps: ``out = act(x + bias[plane % C] + residual)``, with
a one-element zero bias for none and an empty residual for none (one type
either way). So a fused conv/fc adds its bias and residual and applies its
activation in one pass over the output, with one specialisation per dtype.
The transcendental ones (sigmoid, tanh, elu, selu) use numpy's SIMD ufuncs,
an order of magnitude faster than the scalar libm calls Numba emits without
SVML (np.tanh: 0.05 ms for 300k float32, Numba's math.tanh loop 4 ms), after
a "none" pass when there is a bias or residual. ``a`` and ``b`` are the op's
constants (alpha; SELU's scale) in the array's dtype, so float32 stays float32.

Every backward is ``(x, y, g, out, a, b)`` over flat arrays: ``out = g *
act'(x)``, written with whichever of the input ``x`` and the output ``y``
gives the derivative without a transcendental and as PyTorch does (ReLU
masks on y > 0; hardtanh on 0 < x < 6). Comparisons are written so that a
NaN input gives a NaN output, as numpy does.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .jit import parallel_loop

# PyTorch's SELU constants (Klambauer et al. 2017), as the reference uses.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

loop = parallel_loop


# The piecewise-linear activations as scalars; LLVM inlines them into the
# loops below and vectorises them.
scalar = njit(cache=True)


@scalar
def identity(v, a, b):
    return v


@scalar
def relu(v, a, b):
    return 0 if v < 0 else v


@scalar
def relu6(v, a, b):
    return 0 if v < 0 else (6 if v > 6 else v)


@scalar
def leaky_relu(v, a, b):
    return v if v > 0 else a * v


@loop
def none_forward(x, bias, residual, out, a, b):
    """out = x + bias[t % C] (+ residual): the residual's test is outside the
    inner loop, which then vectorises (3x faster than a test per element). The
    loops below are this one with an activation; they cannot share it, as
    Numba does not cache closures."""
    for t in prange(out.shape[0]):
        shift = bias[t % bias.size]
        if residual.size:
            for j in range(out.shape[1]):
                out[t, j] = identity(x[t, j] + shift + residual[t, j], a, b)
        else:
            for j in range(out.shape[1]):
                out[t, j] = identity(x[t, j] + shift, a, b)


@loop
def relu_forward(x, bias, residual, out, a, b):
    for t in prange(out.shape[0]):
        shift = bias[t % bias.size]
        if residual.size:
            for j in range(out.shape[1]):
                out[t, j] = relu(x[t, j] + shift + residual[t, j], a, b)
        else:
            for j in range(out.shape[1]):
                out[t, j] = relu(x[t, j] + shift, a, b)


@loop
def relu6_forward(x, bias, residual, out, a, b):
    for t in prange(out.shape[0]):
        shift = bias[t % bias.size]
        if residual.size:
            for j in range(out.shape[1]):
                out[t, j] = relu6(x[t, j] + shift + residual[t, j], a, b)
        else:
            for j in range(out.shape[1]):
                out[t, j] = relu6(x[t, j] + shift, a, b)


@loop
def leaky_relu_forward(x, bias, residual, out, a, b):
    for t in prange(out.shape[0]):
        shift = bias[t % bias.size]
        if residual.size:
            for j in range(out.shape[1]):
                out[t, j] = leaky_relu(x[t, j] + shift + residual[t, j], a, b)
        else:
            for j in range(out.shape[1]):
                out[t, j] = leaky_relu(x[t, j] + shift, a, b)


@loop
def relu_backward(x, y, g, out, a, b):
    for i in prange(out.size):
        out[i] = g[i] if y[i] > 0 else 0


@loop
def relu6_backward(x, y, g, out, a, b):
    for i in prange(out.size):
        out[i] = g[i] if 0 < x[i] < 6 else 0


@loop
def sigmoid_backward(x, y, g, out, a, b):
    for i in prange(out.size):
        out[i] = g[i] * (1 - y[i]) * y[i]


@loop
def tanh_backward(x, y, g, out, a, b):
    for i in prange(out.size):
        out[i] = g[i] * (1 - y[i] * y[i])


@loop
def leaky_relu_backward(x, y, g, out, a, b):
    for i in prange(out.size):
        out[i] = g[i] if x[i] > 0 else a * g[i]


@loop
def exp_select(x, expm1, out, a, b):
    """ELU (b = 1) and SELU: b * (x if x > 0 else a * expm1(x)), expm1 precomputed by numpy."""
    for i in prange(out.size):
        out[i] = b * (x[i] if x[i] > 0 else a * expm1[i])


@loop
def exp_select_backward(x, y, g, out, a, b):
    # d/dx of b*a*(e^x - 1) is b*a*e^x = y + a*b: no second exp.
    for i in prange(out.size):
        out[i] = g[i] * b if x[i] > 0 else g[i] * (y[i] + a * b)


def sigmoid_forward(z, out, a, b):
    """1 / (1 + exp(-z)), the reference's operations in its order."""
    np.negative(z, out=out)
    np.exp(out, out=out)
    out += 1
    np.divide(1, out, out=out)


def tanh_forward(z, out, a, b):
    np.tanh(z, out=out)


def exp_select_forward(z, out, a, b):
    expm1 = np.minimum(z, 0)
    np.expm1(expm1, out=expm1)
    exp_select(z.reshape(-1), expm1.reshape(-1), out.reshape(-1), a, b)


# op: (forward, backward); the forwards of FUSES_BIAS take bias and residual,
# the others (numpy) the pre-activation only.
ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "relu6": (relu6_forward, relu6_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
    "selu": (exp_select_forward, exp_select_backward),
    "elu": (exp_select_forward, exp_select_backward),
}
FUSES_BIAS = {"none", "relu", "relu6", "leaky_relu"}


def constants(op: str, attrs, dtype) -> tuple:
    """(a, b) for the loops of ``op``, in ``dtype``."""
    if op == "selu":
        a, b = SELU_ALPHA, SELU_SCALE
    else:
        a, b = attrs.get("alpha", 0.0), 1.0
    return dtype.type(a), dtype.type(b)


def plane_shape(x, per_feature: bool) -> tuple:
    """(N*C, H*W) for maps: a plane's index modulo C is its channel. Vectors are
    (N, F) rows, or (N*F, 1) when each feature takes its own bias."""
    if x.ndim > 2 or per_feature:
        return (x.shape[0] * x.shape[1], -1)
    return x.shape


def activate(op: str, attrs, x, bias=None, residual=None, out=None):
    """act(x + bias + residual) into ``out`` (a new array by default; may be ``x`` itself).

    ``op`` may be "none". x, residual and out are contiguous, (N, C, ...) alike.
    """
    out = np.empty_like(x) if out is None else out
    constant = constants(op, attrs, x.dtype)
    if op not in FUSES_BIAS:
        if bias is not None or residual is not None:
            x = activate("none", attrs, x, bias, residual, out)
        ACTIVATIONS[op][0](x, out, *constant)
        return out
    forward = none_forward if op == "none" else ACTIVATIONS[op][0]
    shape = plane_shape(x, bias is not None)
    bias = np.zeros(1, dtype=x.dtype) if bias is None else bias  # x + 0 is x (NaN stays NaN)
    residual = np.empty((0, 0), dtype=x.dtype) if residual is None else residual.reshape(shape)
    forward(x.reshape(shape), bias, residual, out.reshape(shape), *constant)
    return out


def activation_grad(op: str, attrs, x, y, g):
    """g * act'(x), given the activation's input x and output y."""
    _, backward = ACTIVATIONS[op]
    out = np.empty_like(g)
    backward(x.reshape(-1), y.reshape(-1), g.reshape(-1), out.reshape(-1), *constants(op, attrs, g.dtype))
    return out

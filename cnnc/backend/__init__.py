"""Backends: kernels that execute the IR's ops, forward and backward.

A backend is a registry ``KERNELS: {op: Kernel}``. ``cnnc.runtime.execute``
walks the graph and calls them; the numpy reference executor
(cnnc.runtime.reference) is what every kernel is checked against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kernel:
    """forward(node, inputs, tensors, ctx) -> (output, saved)

    ``inputs`` are arrays (N, C, H, W) or (N, F) in the net's dtype; ``tensors``
    is the node's {param or buffer name: array} (BN updates its running stats in
    place in training); ``saved`` is whatever backward needs (None when
    ``ctx.training`` is False and nothing is needed).

    backward(node, grad_output, saved, tensors, grads, ctx) -> [grad of each input]

    Adds the parameter gradients into ``grads`` ({param name: array}, same
    shapes as the params, zero at the start of a step) and returns one gradient
    per input, or None for an input that needs none (``ctx.needs_grad``). ``grad_output`` is read-only:
    the executor may hand the same array to several kernels (a residual add
    passes its gradient to both of its inputs).
    """

    forward: Callable[..., tuple[Any, Any]]
    backward: Callable[..., list]


@dataclass
class Context:
    """Per-call state shared by the kernels of one forward or backward pass."""

    training: bool
    rng: Any  # numpy.random.Generator: dropout masks
    # Tensors whose gradient nobody reads (the network input when training
    # asks for none): a kernel may skip an input's gradient, as PyTorch skips
    # inputs without requires_grad (for a first conv, its col2im and a GEMM).
    no_grad: frozenset = frozenset()
    # (buffer, first): the executor asks the node running now to write its output into
    # buffer[:, first:first + C] (a concat's, eliminate_concat's in-place branches); a
    # kernel that can returns that view, otherwise the executor copies its output there.
    into: tuple | None = None

    def needs_grad(self, node, index: int = 0) -> bool:
        """Whether backward must return the gradient of node.inputs[index]."""
        return node.inputs[index].name not in self.no_grad

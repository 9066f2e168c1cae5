"""The op registry: one OpDef per op, imported from its family's module."""

from . import activation, conv, dense, fused, norm, structure  # noqa: F401  (they register)
from .base import OPS, OpDef, ShapeError, fmt_shape

__all__ = ["OPS", "OpDef", "ShapeError", "fmt_shape"]

"""The CPU kernel table, filled by the op-family modules as they are imported."""

from __future__ import annotations

import importlib

from .. import Kernel

KERNELS: dict[str, Kernel] = {}

# Op-family modules that register kernels; imported on first use of the table.
FAMILIES = ("conv", "pool", "dense", "elementwise", "norm", "structure", "fused")


def register(*ops: str):
    """Decorator for a module-level pair: register("relu")(Kernel(fwd, bwd))."""

    def add(kernel: Kernel) -> Kernel:
        for op in ops:
            KERNELS[op] = kernel
        return kernel

    return add


def load_all() -> dict[str, Kernel]:
    for family in FAMILIES:
        try:
            importlib.import_module(f"{__package__}.{family}")
        except ModuleNotFoundError as error:
            if error.name != f"{__package__}.{family}":
                raise
    return KERNELS

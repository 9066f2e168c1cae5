"""cnnc: a compiler for convolutional networks written in the .cnn language."""

from .api import load, load_all, loads
from .errors import CnncError

__all__ = ["CnncError", "load", "load_all", "loads"]
__version__ = "0.1.0"

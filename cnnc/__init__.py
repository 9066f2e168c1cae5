"""cnnc: a compiler for convolutional networks written in the .cnn language."""

from .api import load, load_all, loads
from .errors import CnncError

__all__ = ["CnncError", "compile", "load", "load_all", "loads"]


def compile(*args, **kwargs):  # noqa: A001 - the API's name, as in the issue
    """A runnable Net: see cnnc.runtime.execute.compile (imports numpy on use)."""
    from .runtime.execute import compile as compile_net

    return compile_net(*args, **kwargs)


__version__ = "0.1.0"

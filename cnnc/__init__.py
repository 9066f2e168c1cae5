"""cnnc: a compiler for convolutional networks written in the .cnn language."""

from .blas_env import configure_openblas

configure_openblas()  # before anything imports numpy (cnnc.blas_env says why)

from .api import load, load_all, loads  # noqa: E402
from .errors import CnncError  # noqa: E402

__all__ = ["CnncError", "compile", "load", "load_all", "loads", "train"]


def compile(*args, **kwargs):  # noqa: A001 - the API's name, as in the issue
    """A runnable Net: see cnnc.runtime.execute.compile (imports numpy on use)."""
    from .runtime.execute import compile as compile_net

    return compile_net(*args, **kwargs)


def train(*args, **kwargs):
    """Train a network: see cnnc.runtime.train.train (its train section gives the defaults)."""
    from .runtime.train import train as train_net

    return train_net(*args, **kwargs)


__version__ = "0.1.0"

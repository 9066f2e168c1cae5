"""Reading .npz files safely: arrays only (never unpickling), one clear error."""

from __future__ import annotations

import zipfile

import numpy as np

from ..errors import CnncError


def read_npz(path, missing: str, what: str) -> dict[str, np.ndarray]:
    """Every array of the file; ``missing`` is the message when there is no file,
    ``what`` names the kind of file in the message when it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise CnncError(missing) from None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise CnncError(f"{path}: not a readable {what} ({error})") from None

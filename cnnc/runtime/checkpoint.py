"""Training checkpoints: one file, written atomically, enough to resume bit for bit.

``checkpoint.npz`` holds the net's tensors ("weights/<layer>.<name>", params
and BN buffers), the optimizer's state ("optim/..."), and a JSON document
("state", as bytes) with the epoch, the step, the data order position, the
RNG states (numpy ``bit_generator.state``: shuffle, augmentation, dropout), the
running sums of a part-done epoch and the metrics history. Being a single
file replaced with ``os.replace`` after an fsync, a crash at any moment leaves
either the previous checkpoint or the new one, never a mix.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import CnncError
from .npz import read_npz

NAME = "checkpoint.npz"


def write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder, fsync and os.replace."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise CnncError(f"cannot write {path}: {error.strerror}") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; the result should look like any written file
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        _fsync_folder(path.parent)  # the rename itself survives a power cut only once the folder is synced
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some systems cannot open folders; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(folder, net, optimizer, state: dict) -> Path:
    arrays = {f"weights/{layer}.{name}": a for layer, t in net.tensors.items() for name, a in t.items()}
    arrays.update({f"optim/{key}": a for key, a in optimizer.state_dict().items()})
    arrays["state"] = np.frombuffer(json.dumps(state).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = Path(folder) / NAME
    write_atomic(path, buffer.getvalue())
    return path


def load_checkpoint(folder, net, optimizer) -> dict:
    """Restore the net's tensors and the optimizer's state in place; return the JSON state."""
    path = Path(folder) / NAME
    arrays = read_npz(path, f"{folder}: no {NAME} to resume from", "checkpoint")
    if "state" not in arrays:
        raise CnncError(f"{path}: not a cnnc checkpoint (no state)")
    for layer, tensors in net.tensors.items():
        for name, array in tensors.items():
            key = f"weights/{layer}.{name}"
            if key not in arrays or arrays[key].shape != array.shape:
                raise CnncError(f"{path}: tensor '{layer}.{name}' is missing or of another shape; not this network's")
            array[...] = arrays[key]
    optimizer.load_state_dict({k[len("optim/") :]: v for k, v in arrays.items() if k.startswith("optim/")})
    return json.loads(arrays["state"].tobytes().decode())

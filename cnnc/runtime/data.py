"""Data sources for training: ``digits``, ``idx:DIR``, ``cifar10:DIR``, ``npz:PATH``.

``load_data(spec, input_shape, val_split)`` returns a Dataset of float32
images (N, C, H, W) in [0, 1] and int64 labels, split into train, validation
and test. Sources without a test set of their own (digits, an npz without
x_test) hold out a stratified 20% for it; the validation split is taken from
the training part. Both splits use fixed seeds, independent of the training
seed, so that runs with different seeds are scored on the same images.

Every missing or malformed file is one CnncError naming the file.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CnncError
from ..ops import fmt_shape
from .npz import read_npz

TEST_FRACTION = 0.2
SPLIT_SEED = 0


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def image_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    @property
    def classes(self) -> int:
        return int(max(self.y_train.max(initial=0), self.y_test.max(initial=0))) + 1


def load_data(spec: str, input_shape=None, val_split: float = 0.1) -> Dataset:
    """The named source, split; its image shape checked against the network's ``input_shape``."""
    name, _, where = spec.partition(":")
    if name not in SOURCES or (name == "digits") != (not where):
        raise CnncError(f"unknown data source '{spec}'; use digits, idx:DIR, cifar10:DIR or npz:PATH")
    if not 0 <= val_split < 1:
        raise CnncError(f"--val-split must be in [0, 1), not {val_split}")
    x, y, x_test, y_test = SOURCES[name](where)
    if x_test is None:
        train, test = stratified_split(y, TEST_FRACTION, SPLIT_SEED)
        x, y, x_test, y_test = x[train], y[train], x[test], y[test]
    train, val = stratified_split(y, val_split, SPLIT_SEED + 1)
    data = Dataset(spec, x[train], y[train], x[val], y[val], x_test, y_test)
    if input_shape is not None and data.image_shape != tuple(input_shape):
        raise CnncError(
            f"data '{spec}' has images of {fmt_shape(data.image_shape)}, the network takes {fmt_shape(input_shape)}"
        )
    return data


def stratified_split(labels, fraction: float, seed: int):
    """(kept, held out) index arrays; each class gives round(fraction * its count) to the held-out part."""
    rng = np.random.default_rng(seed)
    kept, held = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = int(round(fraction * len(members)))
        held.append(members[:cut])
        kept.append(members[cut:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


# --- sources: each returns (x, y, x_test or None, y_test or None) ------------


def digits(_where: str = ""):
    """scikit-learn's bundled 8x8 digits (pixels 0..16), read from its CSV without importing sklearn.

    Importing sklearn.datasets costs about a second (scipy); the file is the
    same one ``load_digits`` parses: 64 pixel columns and the label.
    """
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise CnncError("the digits data set needs scikit-learn: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    x = (table[:, :64] / 16.0).reshape(-1, 1, 8, 8)
    return x, table[:, 64].astype(np.int64), None, None


IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def idx(where: str):
    """MNIST-format IDX files (LeCun et al.): magic 0 0 0x08 NDIM, big-endian int32 sizes, uint8 data."""
    folder = _folder(where)
    x, y = _idx_pair(folder, *IDX_FILES["train"])
    x_test, y_test = _idx_pair(folder, *IDX_FILES["test"])
    return x, y, x_test, y_test


def _idx_pair(folder: Path, images_name: str, labels_name: str):
    images = read_idx(_find(folder, images_name), 3)
    labels = read_idx(_find(folder, labels_name), 1)
    if len(images) != len(labels):
        raise CnncError(f"{folder / images_name}: {len(images)} images but {len(labels)} labels")
    return (images[:, None].astype(np.float32) / 255.0), labels.astype(np.int64)


def read_idx(path: Path, ndim: int) -> np.ndarray:
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or raw[3] != ndim:
        raise CnncError(f"{path}: not an IDX file of {ndim}-d unsigned bytes (bad magic number)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CnncError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">i4", ndim, 4))
    size = int(np.prod(dims))
    if len(raw) - header != size:
        raise CnncError(
            f"{path}: truncated or padded: {fmt_shape(dims)} needs {size} bytes of data, found {len(raw) - header}"
        )
    return np.frombuffer(raw, np.uint8, size, header).reshape(dims)


CIFAR_RECORD = 1 + 3 * 32 * 32  # label byte, then the red, green and blue 32x32 planes


def cifar10(where: str):
    """The CIFAR-10 binary version (Krizhevsky, 2009): data_batch_1..5.bin and test_batch.bin."""
    folder = _folder(where)
    if not (folder / "test_batch.bin").exists() and (folder / "cifar-10-batches-bin").is_dir():
        folder = folder / "cifar-10-batches-bin"  # the archive's own top folder
    train = [_cifar_batch(_find(folder, f"data_batch_{i}.bin")) for i in range(1, 6)]
    x_test, y_test = _cifar_batch(_find(folder, "test_batch.bin"))
    return np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train]), x_test, y_test


def _cifar_batch(path: Path):
    raw = _read_bytes(path)
    if not raw or len(raw) % CIFAR_RECORD:
        raise CnncError(
            f"{path}: not a CIFAR-10 batch: {len(raw)} bytes is not a whole number of {CIFAR_RECORD}-byte records"
        )
    records = np.frombuffer(raw, np.uint8).reshape(-1, CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise CnncError(f"{path}: label {labels.max()} is not a CIFAR-10 class (0-9)")
    return records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0, labels


def npz(where: str):
    """Arrays x (N,C,H,W or N,H,W) and y (N,), optionally x_test and y_test; uint8 images are scaled by 1/255."""
    path = Path(where)
    content = read_npz(path, f"{path}: no such file", ".npz file")
    for key in ("x", "y"):
        if key not in content:
            raise CnncError(f"{path}: no array '{key}' (found: {', '.join(content) or 'none'})")
    if ("x_test" in content) != ("y_test" in content):
        raise CnncError(f"{path}: x_test and y_test come together")
    x, y = _npz_arrays(path, content["x"], content["y"], "")
    if "x_test" not in content:
        return x, y, None, None
    return (x, y, *_npz_arrays(path, content["x_test"], content["y_test"], "_test"))


def _npz_arrays(path, x, y, suffix):
    if x.ndim == 3:
        x = x[:, None]  # grey images without a channel axis
    if x.ndim not in (2, 4) or y.ndim != 1 or len(x) != len(y):
        raise CnncError(
            f"{path}: x{suffix} {fmt_shape(x.shape)} and y{suffix} {fmt_shape(y.shape)} are not N images and N labels"
        )
    if not np.issubdtype(y.dtype, np.integer) or (y.size and y.min() < 0):
        raise CnncError(f"{path}: y{suffix} must hold class indices (integers from 0)")
    if not np.issubdtype(x.dtype, np.number):
        raise CnncError(f"{path}: x{suffix} is not numeric")
    scale = 1 / 255.0 if x.dtype == np.uint8 else 1.0
    return x.astype(np.float32) * np.float32(scale), y.astype(np.int64)


def _folder(where: str) -> Path:
    folder = Path(where)
    if not folder.is_dir():
        raise CnncError(f"{folder}: no such data folder")
    return folder


def _find(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.exists():
            return candidate
    raise CnncError(f"{folder}: no {name} (or {name}.gz)")


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise CnncError(f"{path}: cannot read ({error})") from None


SOURCES = {"digits": digits, "idx": idx, "cifar10": cifar10, "npz": npz}

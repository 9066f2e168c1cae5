"""Mini-batches for training: a seeded shuffle whose position can be saved, and image augmentation.

Resuming must replay the very same batches: ``Batches`` keeps the shuffle
generator's state from *before* it drew the current epoch's order, so that
``state()`` (that state and the position in the epoch) regenerates the order
exactly on ``restore``.
"""

from __future__ import annotations

import numpy as np

from ..errors import CnncError
from ..training import AUGMENTATIONS


class Batches:
    def __init__(self, n: int, batch: int, rng: np.random.Generator):
        self.n, self.batch, self.rng = n, batch, rng
        self.order: np.ndarray | None = None
        self.position = 0  # batches of the current epoch already handed out
        self._epoch_state = None

    def __len__(self) -> int:
        return -(-self.n // self.batch)  # the last batch may be short, as torch's drop_last=False

    def start_epoch(self) -> None:
        self._epoch_state = self.rng.bit_generator.state
        self.order = self.rng.permutation(self.n)
        self.position = 0

    def next(self) -> np.ndarray | None:
        """The indices of the next batch of this epoch, or None at its end."""
        if self.position >= len(self):
            return None
        start = self.position * self.batch
        self.position += 1
        return self.order[start : start + self.batch]

    def state(self) -> dict:
        return {"epoch_rng": self._epoch_state, "position": self.position}

    def restore(self, state: dict) -> None:
        self.rng.bit_generator.state = state["epoch_rng"]
        self.start_epoch()
        self.position = state["position"]


def parse_augment(text: str | None) -> tuple[str, ...]:
    """'crop,flip' -> ('crop', 'flip'); '' or None or 'none' -> ()."""
    if not text or text == "none":
        return ()
    names = tuple(name.strip() for name in text.split(","))
    for name in names:
        if name not in AUGMENTATIONS:
            raise CnncError(f"unknown augmentation '{name}'; use crop, flip or both: crop,flip")
    return names


def crop_padding(image_shape) -> int:
    """4 pixels for 32x32 images (the CIFAR habit, He et al. 2016), 1 for 8x8: an eighth of the side."""
    return max(1, min(image_shape[-2:]) // 8)


def augment(x: np.ndarray, names, rng: np.random.Generator) -> np.ndarray:
    """A new batch: each image randomly cropped from its zero-padded copy and/or flipped left-right.

    The draws are made in a fixed order (crop offsets for the whole batch, then
    the flips), so that the generator's state alone fixes the result.
    """
    if "crop" in names:
        x = random_crop(x, crop_padding(x.shape), rng)
    if "flip" in names:
        flip = rng.random(len(x)) < 0.5
        x = x.copy()
        x[flip] = x[flip, ..., ::-1]
    return x


def random_crop(x: np.ndarray, pad: int, rng: np.random.Generator) -> np.ndarray:
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    offsets = rng.integers(0, 2 * pad + 1, size=(n, 2))
    out = np.empty_like(x)
    for i, (dy, dx) in enumerate(offsets):
        out[i] = padded[i, :, dy : dy + h, dx : dx + w]
    return out

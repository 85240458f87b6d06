"""Training images in memory, and random crops of them."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ...files import image_paths


def find_images(folders: list[str]) -> list[str]:
    """The image files of the folders' trees, sorted; FileNotFoundError for a missing folder or no images."""
    for folder in folders:
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"training data folder not found: {folder!r}")
    paths = image_paths(folders)
    if not paths:
        raise FileNotFoundError(f"no images in {folders}")
    return paths


class ImagePool:
    """RGB uint8 images held in memory; every ``holdout``-th image is kept out of training for validation."""

    def __init__(self, folders: list[str], holdout: int = 10) -> None:
        paths = find_images(folders)
        self.val_paths = paths[::holdout]
        self.train_paths = [p for p in paths if p not in set(self.val_paths)]
        self.train = [self._load(p) for p in self.train_paths]
        self.val = [self._load(p) for p in self.val_paths]

    @staticmethod
    def _load(path: str) -> np.ndarray:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))

    @staticmethod
    def crop(rng: np.random.Generator, images: list[np.ndarray], h: int, w: int, flip: bool = True) -> np.ndarray:
        """A random (h, w, 3) crop of a random image (the image must be at least that large)."""
        while True:
            a = images[rng.integers(len(images))]
            if a.shape[0] >= h and a.shape[1] >= w:
                break
        top, left = rng.integers(a.shape[0] - h + 1), rng.integers(a.shape[1] - w + 1)
        c = a[top : top + h, left : left + w]
        if flip and rng.random() < 0.5:
            c = c[:, ::-1]
        return np.ascontiguousarray(c)

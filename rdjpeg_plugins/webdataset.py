"""WebDataset encoder: ``TarWriter(path, encoder=rdjpeg_plugins.webdataset.encoder(quality=90))``.

:func:`encoder` returns WebDataset's own handlers (the ones ``encoder=True`` uses) with the keys WebDataset writes as
JPEG (``jpg``, ``jpeg``, ``img``, ``image``) written by rdjpeg; every other key is written as WebDataset writes it.
An image is a PIL image or a uint8 / float array, as for WebDataset (float values in [0, 1]); it becomes Pillow's
image as in WebDataset's ``imageencoder`` and then a file of the Pillow format "RDJPEG" (:mod:`rdjpeg_plugins.pillow`).
Bad options fail in :func:`encoder`, before the first sample; a sample rdjpeg cannot write raises in ``TarWriter.write``
before that sample is added.
"""

from __future__ import annotations

import functools
import io

from PIL import Image
from webdataset.writer import default_handlers

JPEG_KEYS = ("jpg", "jpeg", "img", "image")  # WebDataset's make_handlers writes these as JPEG
DEFAULT_QUALITY = 100  # WebDataset's imageencoder: Pillow's JPEG at quality 100


def encoder(quality: int | None = None, *, target: str | None = None, **options) -> dict:
    """Handlers for ``TarWriter(encoder=...)``: JPEG keys by rdjpeg with these options, the rest as WebDataset's.

    Args:
        quality: the look of Pillow's JPEG at this quality (default 100, WebDataset's), written smaller.
        target: instead of a quality, the smallest file scoring at least this ("ssimulacra2:80"), per image.
        **options: any other option of the Pillow format "RDJPEG" (``progressive``, ``subsampling``, …).

    Raises:
        TypeError, ValueError: bad options (rdjpeg's errors), before any sample is written.
    """
    from rdjpeg import make_plan

    if target is None and quality is None:
        quality = DEFAULT_QUALITY
    chosen = {k: v for k, v in (("quality", quality), ("target", target)) if v is not None}
    make_plan(**chosen, **options)  # every option checked once, here
    jpeg = functools.partial(write_jpeg, options={**chosen, **options})  # a partial pickles, for worker processes
    return {**default_handlers, **dict.fromkeys(JPEG_KEYS, jpeg)}


def write_jpeg(image, options: dict) -> bytes:
    """One JPEG key's file: the sample's image as WebDataset's ``imageencoder`` reads it, written by rdjpeg."""
    if not isinstance(image, Image.Image):
        image = Image.fromarray(pixels(image))
    buffer = io.BytesIO()
    image.save(buffer, "RDJPEG", **options)  # registered by this package's import
    return buffer.getvalue()


def pixels(array):
    """uint8 pixels of a WebDataset image array: uint8 as it is, float in [0, 1] scaled as WebDataset scales it."""
    import numpy as np

    if not isinstance(array, np.ndarray):
        raise TypeError(f"a JPEG key holds a PIL image or a numpy array, got {type(array).__name__}")
    if array.dtype in (np.float32, np.float64):
        if np.amin(array) <= -0.001 or np.amax(array) >= 1.001:  # WebDataset's tolerance and words
            raise ValueError(f"image values out of range {np.amin(array)} {np.amax(array)}")
        array = (np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3)):
        raise ValueError(f"a JPEG key's array is (H, W), (H, W, 1) or (H, W, 3), got shape {array.shape}")
    return array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array

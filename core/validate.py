"""Checks made once, at the public doors (``rdjpeg.encode``, the exported functions and modules, the host plugins,
the CLI, the training entry points); the code behind them trusts its inputs.

Python's convention: a value of the wrong type raises TypeError, a value of the right type that is out of range or
not one of the choices raises ValueError.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .jpeg.tables import SUBSAMPLINGS


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_int(name: str, value, low: int, high: int | None = None) -> int:
    """``value`` as an int in low..high (no upper bound when ``high`` is None)."""
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"in {low}..{high}" if high is not None else f"≥ {low}"
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")
    return int(value)


def check_quality(quality, name: str = "quality") -> int:
    """A JPEG quality: an integer in 1..100."""
    return check_int(name, quality, 1, 100)


def quality_range(quality) -> tuple[int, int]:
    """One quality or an inclusive (min, max) range of them, as (min, max), checked with torchvision's
    ``v2.JPEG``'s exceptions and words."""
    if isinstance(quality, bool):
        raise TypeError("quality can't be bool")
    if _is_int(quality):
        quality = [quality, quality]
    if not isinstance(quality, Sequence) or isinstance(quality, str):
        raise TypeError("quality should be a sequence of length 2.")
    if len(quality) != 2:
        raise ValueError("quality should be a sequence of length 2.")
    if not (all(map(_is_int, quality)) and 1 <= quality[0] <= quality[1] <= 100):
        raise ValueError(f"quality must be an integer from 1 to 100, got quality ={quality!r}")
    return int(quality[0]), int(quality[1])


def check_choice(name: str, value, allowed: Sequence):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def subsampling_name(subsampling: str | int) -> str:
    """ "4:4:4" / "4:2:2" / "4:2:0", or Pillow's 0 / 1 / 2 for them, as the name."""
    if _is_int(subsampling) and 0 <= subsampling < len(SUBSAMPLINGS):
        return list(SUBSAMPLINGS)[subsampling]
    if not isinstance(subsampling, (str, int)):
        raise TypeError(f"subsampling must be a name or Pillow's number, got {subsampling!r}")
    if subsampling not in SUBSAMPLINGS:
        raise ValueError(f"unknown subsampling {subsampling!r}; expected one of {list(SUBSAMPLINGS)} or 0, 1, 2")
    return subsampling


def check_pixels(pixels) -> np.ndarray:
    """uint8 pixels (H, W), (H, W, 1) or (H, W, 3), returned as (H, W) or (H, W, 3)."""
    if not isinstance(pixels, np.ndarray):
        raise TypeError(f"pixels must be a numpy array, got {type(pixels).__name__}")
    if pixels.dtype != np.uint8:
        raise TypeError(f"pixels must be uint8, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3) or 0 in pixels.shape:
        raise ValueError(f"pixels must have shape (H, W) or (H, W, 3), got {pixels.shape}")
    return pixels

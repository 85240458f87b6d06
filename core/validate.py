"""Checks made once, at the public doors (``rdjpeg.encode``, the exported functions and modules, the host plugins,
the CLI, the training entry points); the code behind them trusts its inputs.

Python's convention: a value of the wrong type raises TypeError, a value of the right type that is out of range or
not one of the choices raises ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .jpeg.tables import SUBSAMPLINGS

if TYPE_CHECKING:  # the tensor checks import torch when called: the default path never loads it
    import torch
    from torch import Tensor


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


def pillow_quality(quality) -> int:
    """Pillow's JPEG save's meaning: -1 is the default (75); libjpeg clamps any other integer to 1..100. Like
    Pillow, only Python integers (a bool too, a numpy integer not), and ValueError for anything else."""
    if not isinstance(quality, int):
        raise ValueError(f"quality must be an integer (clamped to 1..100; -1 for the default), got {quality!r}")
    return 75 if quality == -1 else min(100, max(1, quality))


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


def quality_tensor(quality: int | float | Tensor, batch: int, device: torch.device | str) -> Tensor:
    """A scalar or per-image quality (whole numbers in 1..100) as a (B,) int64 tensor on ``device``."""
    import torch
    from torch import Tensor

    if isinstance(quality, bool) or not isinstance(quality, (int, float, np.integer, Tensor)):
        raise TypeError(f"quality must be a number or a tensor, got {type(quality).__name__}")
    q = torch.as_tensor(quality, dtype=torch.float64).detach().to("cpu").flatten()
    if q.numel() not in (1, batch):
        raise ValueError(f"quality must be a scalar or have one value per image ({batch}), got {q.numel()} values")
    if not torch.isfinite(q).all() or (q < 1).any() or (q > 100).any() or (q != q.round()).any():
        raise ValueError(f"quality must hold whole numbers in 1..100, got {q.tolist()}")
    return q.to(torch.int64).expand(batch).to(device)


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


def tables_tensor(tables, batch: int, device: torch.device | str) -> Tensor:
    """Custom quantization tables, (2, 8, 8) or (B, 2, 8, 8), natural order, whole numbers in 1..32767 (values above
    255 need 16-bit tables, extended JPEG: mozjpeg writes them at low qualities), as (B, 2, 8, 8) int64."""
    import torch

    given = torch.as_tensor(tables).detach()
    t = given[None] if given.dim() == 3 else given
    if t.dim() != 4 or t.shape[1:] != (2, 8, 8) or t.shape[0] not in (1, batch):
        raise ValueError(f"tables must have shape (2, 8, 8) or (B, 2, 8, 8), got {tuple(given.shape)}")
    if not torch.isfinite(t.double()).all() or (t != t.round()).any() or (t < 1).any() or (t > 32767).any():
        raise ValueError("tables must hold whole numbers in 1..32767")
    return t.to(device=device, dtype=torch.int64).expand(batch, 2, 8, 8)


def check_image(x, name: str = "image", min_side: int = 1, values: bool = True) -> None:
    """A float (B, 1|3, H, W) tensor, B ≥ 1, sides ≥ ``min_side``, values in [0, 1] (``values=False`` skips that
    pass over the data: tensors the caller made)."""
    import torch
    from torch import Tensor

    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor with values in [0, 1], got dtype {x.dtype}")
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"{name} must have shape (B, 3, H, W) or (B, 1, H, W), got {tuple(x.shape)}")
    if x.shape[0] < 1 or min(x.shape[-2:]) < max(1, min_side):
        raise ValueError(f"{name} must be a batch of images of at least {max(1, min_side)}×{max(1, min_side)} px, "
                         f"got shape {tuple(x.shape)}")  # fmt: skip
    if values:
        low, high = (float(v) for v in torch.aminmax(x.detach()))  # one pass; NaN propagates into both
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"{name} contains NaN or infinite values")
        if low < 0 or high > 1:
            raise ValueError(f"{name} values must lie in [0, 1], got range [{low:.4g}, {high:.4g}]")


def check_images(x, y, min_side: int, name: str, values: bool = True) -> None:
    """Two images of one shape as :func:`check_image` takes them: what every full-reference metric's ``score``
    takes."""
    check_image(x, f"{name}'s first image", min_side, values)
    check_image(y, f"{name}'s second image", min_side, values)
    if x.shape != y.shape:
        raise ValueError(f"{name} takes two images of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")


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

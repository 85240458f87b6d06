"""Checks of the learned stack's tensor arguments, made once at its public functions (the rules of
:mod:`rdjpeg.validate`: TypeError for a wrong type, ValueError for a value out of range)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def quality_tensor(quality: int | float | Tensor, batch: int, device: torch.device | str) -> Tensor:
    """A scalar or per-image quality (whole numbers in 1..100) as a (B,) int64 tensor on ``device``."""
    if isinstance(quality, bool) or not isinstance(quality, (int, float, np.integer, Tensor)):
        raise TypeError(f"quality must be a number or a tensor, got {type(quality).__name__}")
    q = torch.as_tensor(quality, dtype=torch.float64).detach().to("cpu").flatten()
    if q.numel() not in (1, batch):
        raise ValueError(f"quality must be a scalar or have one value per image ({batch}), got {q.numel()} values")
    if not torch.isfinite(q).all() or (q < 1).any() or (q > 100).any() or (q != q.round()).any():
        raise ValueError(f"quality must hold whole numbers in 1..100, got {q.tolist()}")
    return q.to(torch.int64).expand(batch).to(device)


def tables_tensor(tables, batch: int, device: torch.device | str) -> Tensor:
    """Custom quantization tables, (2, 8, 8) or (B, 2, 8, 8), natural order, whole numbers in 1..32767 (values above
    255 need 16-bit tables, extended JPEG: mozjpeg writes them at low qualities), as (B, 2, 8, 8) int64."""
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

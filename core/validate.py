"""Checks made once, at the public doors; the code behind them trusts its inputs."""

from __future__ import annotations

import torch
from torch import Tensor


def check_images(x: Tensor, y: Tensor, min_side: int, name: str, values: bool = True) -> None:
    """Two float (B, 1|3, H, W) tensors of one shape, values in [0, 1], at least ``min_side`` px on each side: what
    every full-reference metric's ``score`` takes. TypeError for non-tensors, ValueError for the rest.
    ``values=False`` skips the pass over the values (training losses, whose inputs the trainer made)."""
    for t in (x, y):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} takes tensors, got {type(t).__name__}")
    if x.shape != y.shape or x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"{name} takes two (B, 1|3, H, W) tensors of one shape, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")  # fmt: skip
    if not (x.is_floating_point() and y.is_floating_point()):
        raise ValueError(f"{name} takes float images in [0, 1], got {x.dtype} and {y.dtype}")
    if min(x.shape[-2:]) < min_side:
        raise ValueError(f"{name} needs images of at least {min_side}×{min_side} px, got {x.shape[-1]}×{x.shape[-2]}")
    if x.numel() == 0:
        raise ValueError(f"{name} got an empty batch")
    if not values:
        return
    with torch.no_grad():
        (low_x, high_x), (low_y, high_y) = torch.aminmax(x), torch.aminmax(y)
        low, high = torch.minimum(low_x, low_y), torch.maximum(high_x, high_y)
    if not (low >= 0 and high <= 1):  # also catches NaN
        raise ValueError(f"{name} takes images in [0, 1], got values in [{float(low):g}, {float(high):g}]")

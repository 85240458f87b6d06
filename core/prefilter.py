"""The preprocessing network P: a small, quality-conditioned residual CNN that edits an image before JPEG.

Design (fast on CPU, any size, one model for all qualities):

* pixel-unshuffle by ``scale`` (default 8): the body works at 1/64 of the pixels, with 3·scale² = 192 input channels
  carrying all detail; an 8×8 cell is exactly a JPEG luma block, so the body sees whole blocks. 48 channels ×
  4 blocks (358 k parameters) run a 768×512 image in 26 ms on 2 cores (BENCHMARKS.md);
* a 3×3 head, ``blocks`` residual blocks, and a 3×3 tail, then pixel-shuffle back and add to the input (residual);
* the tail starts at zero, so an untrained prefilter is the identity;
* each block is modulated by FiLM (scale, shift) computed from the JPEG quality, so one network serves q 1..100;
* inputs of any size are edge-padded to a multiple of ``scale`` and cropped back; grayscale images go through as three
  equal channels and come back averaged;
* :meth:`Prefilter.forward_tiled` processes large images in tiles whose margin exceeds the receptive field, so the
  result equals the untiled one (no seams) at bounded memory.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .simulator import _check_image, resolve_quality


class _Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
        h = F.silu(self.conv1(x))
        return x + self.conv2(h * (1 + scale) + shift)


class Prefilter(nn.Module):
    """Quality-conditioned residual prefilter.

    Args:
        channels: width of the body (at 1/scale resolution).
        blocks: number of residual blocks.
        scale: pixel-unshuffle factor.

    Shape:
        - Input: (B, 3, H, W) or (B, 1, H, W) in [0, 1], any H, W ≥ 1; quality a scalar or (B,).
        - Output: same shape, in [0, 1].

    Example:
        >>> p = Prefilter()
        >>> x = torch.rand(2, 3, 37, 50)
        >>> torch.equal(p(x, quality=torch.tensor([30, 80])), x)  # identity until trained
        True
    """

    def __init__(self, channels: int = 48, blocks: int = 4, scale: int = 8) -> None:
        super().__init__()
        width = 3 * scale * scale
        self.head = nn.Conv2d(width, channels, 3, padding=1)
        self.blocks = nn.ModuleList(_Block(channels) for _ in range(blocks))
        self.tail = nn.Conv2d(channels, width, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)
        self.film = nn.Sequential(nn.Linear(2, 64), nn.SiLU(), nn.Linear(64, 2 * channels * blocks))
        nn.init.zeros_(self.film[-1].weight)
        nn.init.zeros_(self.film[-1].bias)
        self.channels, self.n_blocks, self.scale = channels, blocks, scale

    @property
    def receptive_radius(self) -> int:
        """Pixels of context each output pixel depends on, in each direction (full resolution)."""
        return self.scale * (3 + 2 * self.n_blocks)

    def _quality_features(self, quality: Tensor) -> Tensor:
        q = quality.to(self.tail.weight.dtype)[:, None] / 100
        return torch.cat([q, torch.log(q)], 1)  # IJG scaling changes regime at q50: give the MLP both views

    def forward(self, x: Tensor, quality: int | float | Tensor = 75) -> Tensor:
        _check_image(x)
        q = resolve_quality(quality, x.shape[0], x.device)
        gray = x.shape[1] == 1
        rgb = x.expand(-1, 3, -1, -1) if gray else x
        H, W = rgb.shape[-2:]
        ph, pw = -H % self.scale, -W % self.scale
        padded = F.pad(rgb, (0, pw, 0, ph), mode="replicate") if ph or pw else rgb
        film = self.film(self._quality_features(q)).view(x.shape[0], self.n_blocks, 2, self.channels, 1, 1)
        h = self.head(F.pixel_unshuffle(padded, self.scale))
        for i, block in enumerate(self.blocks):
            h = block(h, film[:, i, 0], film[:, i, 1])
        out = padded + F.pixel_shuffle(self.tail(h), self.scale)
        out = out[..., :H, :W].clamp(0, 1)
        return out.mean(1, keepdim=True) if gray else out

    def forward_tiled(self, x: Tensor, quality: int | float | Tensor = 75, tile: int = 512) -> Tensor:
        """Same result as :meth:`forward`, computed in ``tile``×``tile`` pieces with a receptive-field margin.

        Memory grows with the tile, not the image: a 24-megapixel image needs only one tile's activations at a time.
        """
        _check_image(x)
        if tile < self.scale or tile % self.scale:
            raise ValueError(f"tile must be a positive multiple of {self.scale}, got {tile}")
        H, W = x.shape[-2:]
        if tile >= H and tile >= W:
            return self.forward(x, quality)
        margin = self.scale * math.ceil(self.receptive_radius / self.scale)
        out = torch.empty_like(x)
        for top in range(0, H, tile):
            for left in range(0, W, tile):
                # Tile origins on the scale grid keep pixel-unshuffle's phase identical to the whole image's.
                t0, l0 = max(0, top - margin), max(0, left - margin)
                t1, l1 = min(H, top + tile + margin), min(W, left + tile + margin)
                piece = self.forward(x[..., t0:t1, l0:l1], quality)
                out[..., top : top + tile, left : left + tile] = piece[..., top - t0 : top - t0 + tile,
                                                                       left - l0 : left - l0 + tile]  # fmt: skip
        return out

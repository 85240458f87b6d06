"""The learned pipelines' edits, run by a :class:`~rdjpeg.plan.Plan` with a metric: the prefilter network, then
adaptive DCT-domain masking for the encoder that writes the file (its tables and subsampling).

The one module of the encode path that needs torch; :mod:`rdjpeg.plan` imports it only for a plan that edits.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ..images import image_to_tensor, tensor_to_pixels
from ..jpeg.backends import Backend
from ..registry import get_model
from ..validate import subsampling_name
from .models.masking import apply_masking, mask_in_strips

TILE = 512  # prefilter tile side: bounds memory for large images, same result (Prefilter.forward_tiled)
STRIP_ABOVE = 4_000_000  # pixels: larger images are masked in strips, in bounded memory (mask_in_strips)
UNSCALED_TABLES_QUALITY = 50  # custom qtables written as given: the prefilter sees them as quality 50 (IJG scale 100 %)


def apply_prefilter(model: nn.Module | None, x: Tensor, quality: int, in_place: bool = False) -> Tensor:
    """The prefilter's output, clamped to [0, 1]; ``in_place``: written over ``x`` (no second full-size image)."""
    if model is None:
        return x
    with torch.inference_mode():
        tiled = getattr(model, "forward_tiled", None)
        y = tiled(x, quality, TILE, out=x if in_place else None) if tiled is not None else model(x, quality)
        return y.clamp_(0, 1)


class Edit:
    """One image's edits for a plan: ``write(quality)`` edits a float copy of the image for that quality and writes
    it with the plan's backend, its ``method`` (``write`` or ``write_for_decoding``) and ``options``.
    ``in_place``: only one quality will be written, so a large image is prefiltered and masked over that copy (no
    second full-size image)."""

    def __init__(self, plan, backend: Backend, method: str, options: dict, image, in_place: bool) -> None:
        self.x, self.backend, self.writer = image_to_tensor(image), backend, getattr(backend, method)
        self.options, self.masking, self.in_place = options, plan.masking, in_place
        self.model = get_model(plan.prefilter)() if isinstance(plan.prefilter, str) else plan.prefilter
        self.size, self.gray = tuple(self.x.shape[-2:]), self.x.shape[1] == 1

    def write(self, quality: int) -> bytes:
        """The file at ``quality`` (-1: custom qtables as given)."""
        edited = self.edited(UNSCALED_TABLES_QUALITY if quality == -1 else quality)
        return self.writer(tensor_to_pixels(edited), quality, **self.options)

    def edited(self, quality: int) -> Tensor:
        """The image the encoder receives at ``quality``."""
        y = apply_prefilter(self.model, self.x, quality, in_place=self.in_place)
        if not self.masking:
            return y
        q, subsampling, tables = torch.tensor([quality]), self.subsampling(quality), self.tables(quality)
        if y.shape[-2] * y.shape[-1] > STRIP_ABOVE:
            return mask_in_strips(y, q, subsampling, tables, out=y if self.in_place or y is not self.x else None)
        return apply_masking(y, q, subsampling, tables=tables)

    def subsampling(self, quality: int) -> str:
        chosen = self.options.get("subsampling", -1)
        return self.backend.subsampling(quality, **self.options) if chosen == -1 else subsampling_name(chosen)

    def tables(self, quality: int) -> Tensor | None:
        """(1, 2, 8, 8) int64 tables for the simulator; None: the IJG tables at ``quality`` (Pillow's encoder)."""
        if self.backend.name == "pillow":
            return None
        return torch.as_tensor(np.asarray(self.backend.tables(quality, **self.options)), dtype=torch.int64)[None]

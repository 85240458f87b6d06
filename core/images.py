"""Image conversions shared by the encoder, evaluation and training, and the real-codec roundtrip.

Pixels are uint8 arrays (H, W) or (H, W, 3); tensors are float (1, C, H, W) in [0, 1].
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from .validate import check_pixels

if TYPE_CHECKING:  # tensors are the learned pipelines' business: torch loads when one is converted
    from torch import Tensor

GRAY_MODES = ("L", "1", "I;16", "I", "F")


def jpeg_mode(image: Image.Image) -> Image.Image:
    """The image as 8-bit RGB, or L for grayscale modes (what a JPEG can hold)."""
    return image.convert("L" if image.mode in GRAY_MODES else "RGB")


def open_image(path: str) -> Image.Image:
    """Read an image file as 8-bit RGB, or L for grayscale modes."""
    with Image.open(path) as image:
        return jpeg_mode(image)


def image_to_pixels(image) -> np.ndarray:
    """PIL image (RGB or L), uint8 array (H, W[, 1|3]) or float tensor (as :func:`image_to_tensor` takes it) → uint8
    (H, W) or (H, W, 3), what an 8-bit encoder receives; PIL images and arrays without a float copy. A wrong type
    raises TypeError, a wrong mode or shape ValueError."""
    if isinstance(image, Image.Image):
        if image.mode not in ("RGB", "L"):
            raise ValueError(f"encode takes RGB or L images, got mode {image.mode!r} (convert it first)")
        return np.asarray(image)
    if isinstance(image, np.ndarray):
        return check_pixels(image)
    torch = sys.modules.get("torch")  # a tensor exists only once torch is loaded: nothing to import for the rest
    if torch is None or not isinstance(image, torch.Tensor):
        raise TypeError(f"cannot encode a {type(image).__name__}; pass a PIL image, a uint8 array or a tensor")
    return tensor_to_pixels(image_to_tensor(image))


def image_to_tensor(image) -> Tensor:
    """PIL image, uint8 array (H, W[, 3]) or float tensor in [0, 1] ((C, H, W) or (1, C, H, W)) → (1, C, H, W)."""
    import torch

    if isinstance(image, (Image.Image, np.ndarray)):
        image = image_to_pixels(image)
        t = torch.from_numpy(image.astype(np.float32)).div_(255)  # one float copy, no uint8 one
        return t[None, None] if t.dim() == 2 else t.permute(2, 0, 1)[None]
    if isinstance(image, torch.Tensor):
        t = image[None] if image.dim() == 3 else image
        if t.dim() != 4 or t.shape[0] != 1:
            raise ValueError(f"tensors must be (C, H, W) or (1, C, H, W), got {tuple(image.shape)}")
        return t.detach().to(torch.float32, copy=True)  # a copy: the pipeline may work in place
    raise TypeError(f"cannot encode a {type(image).__name__}; pass a PIL image, a uint8 array or a tensor")


def tensor_to_pixels(x: Tensor, rows: int = 512) -> np.ndarray:
    """(1, C, H, W) image in [0, 1] → uint8 (H, W) or (H, W, 3), rounded as an 8-bit encoder receives it. Converted
    ``rows`` rows at a time: a large image needs no float copy of itself."""
    import torch

    c, h, w = x.shape[1:]
    out = np.empty((h, w) if c == 1 else (h, w, c), np.uint8)
    for top in range(0, h, rows):
        a = (x[0, :, top : top + rows].detach().float().cpu() * 255).round().clamp(0, 255).to(torch.uint8).numpy()
        out[top : top + rows] = a[0] if c == 1 else a.transpose(1, 2, 0)
    return out


def as_rgb(x: Tensor) -> Tensor:
    """(B, 1|3, H, W) → (B, 3, H, W): a gray image's one channel repeated (a view, no copy)."""
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def decode_jpeg(data: bytes, gray: bool) -> np.ndarray:
    """Pillow's decode of a JPEG file as uint8 (H, W) when ``gray``, else (H, W, 3)."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("L" if gray else "RGB"))


Encoder = Callable[[np.ndarray, int], bytes]  # encode(pixels, quality) -> the bytes of a JPEG file


def roundtrip(encode: Encoder, pixels: np.ndarray, quality: int) -> tuple[bytes, Tensor, float]:
    """Encode with the real encoder, decode with Pillow: (file bytes, decoded (1, C, H, W) tensor, bits per pixel)."""
    data = encode(pixels, quality)
    decoded = image_to_tensor(decode_jpeg(data, gray=pixels.ndim == 2))
    return data, decoded, 8 * len(data) / (pixels.shape[0] * pixels.shape[1])

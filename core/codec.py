"""``rdjpeg.encode``: optional prefilter → optional per-image RD refinement → a real encoder backend → JPEG bytes.

Per-image refinement (``effort`` > 0) runs gradient descent on the image for this image, this quality and this
metric:

    minimize over x′:  D(x, JPEG(x′)) + λ(x) · R̂(x′) / pixels

* D is the metric's loss through the simulator, with the gradient of the masked surrogate (``sim.distortion``).
* R̂ is the rate network.
* λ(x) is the image's real RD slope (``estimate_lambda``).

The starting point is scored with the backend's **real** encoder, and so is every few steps' iterate. The real cost
D(x, decode(bytes)) + λ·bpp decides, and the best one is returned. The result is therefore never worse than the
starting point by that cost.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from .lagrangian import METRIC_OF_LOSS, estimate_lambda
from .plugins import get_backend, get_metric
from .rate import estimate_bits
from .simulator import simulate_jpeg

Progress = Callable[[dict], None]


GRAY_MODES = ("L", "1", "I;16", "I", "F")


def open_image(path: str) -> Image.Image:
    """Read an image file as 8-bit RGB, or L for grayscale modes (what a JPEG can hold)."""
    with Image.open(path) as image:
        return image.convert("L" if image.mode in GRAY_MODES else "RGB")


def image_to_tensor(image) -> Tensor:
    """PIL image, uint8 array (H, W[, 3]) or float tensor in [0, 1] ((C, H, W) or (1, C, H, W)) → (1, C, H, W)."""
    if isinstance(image, Image.Image):
        if image.mode not in ("RGB", "L"):
            raise ValueError(f"encode takes RGB or L images, got mode {image.mode!r} (convert it first)")
        image = np.asarray(image)
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise ValueError(f"arrays must be uint8 (H, W) or (H, W, 3), got {image.dtype} {image.shape}")
        t = torch.from_numpy(image.copy()).float().div(255)
        return t[None, None] if t.dim() == 2 else t.permute(2, 0, 1)[None]
    if isinstance(image, Tensor):
        t = image[None] if image.dim() == 3 else image
        if t.dim() != 4 or t.shape[0] != 1:
            raise ValueError(f"tensors must be (C, H, W) or (1, C, H, W), got {tuple(image.shape)}")
        return t.detach().float()
    raise ValueError(f"cannot encode a {type(image).__name__}; pass a PIL image, a uint8 array or a tensor")


def tensor_to_pixels(x: Tensor) -> np.ndarray:
    """(1, C, H, W) image in [0, 1] → uint8 (H, W) or (H, W, 3), rounded as an 8-bit encoder receives it."""
    a = (x[0].detach().float().cpu() * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def encode(
    image,
    quality: int = 75,
    metric: str = "mse",
    backend: str = "pillow",
    effort: int = 0,
    prefilter: nn.Module | None = None,
    callback: Progress | None = None,
    check_every: int = 5,
    lr: float = 0.5,
    **jpeg_options,
) -> bytes:
    """Encode an image as a standard JPEG, RD-optimized for ``metric`` at ``quality``.

    Args:
        image: a PIL image (RGB or L), a uint8 array (H, W) / (H, W, 3), or a float tensor in [0, 1].
        quality: JPEG quality 1..100.
        metric: what the refinement optimizes: "mse", "msssim", "lpips" (or any registered metric).
        backend: the encoder that writes the file: "pillow", "mozjpeg", "jpegli", or a plugin.
        effort: per-image refinement steps (0 = none).
        prefilter: a network applied first, called as ``prefilter(x, quality)``; None for none.
        callback: called with a dict (step, real cost, bpp, best step) after every real-codec check.
        check_every: refinement steps between real-codec checks.
        lr: Adam step size, in 8-bit levels.
        **jpeg_options: passed to the backend (e.g. ``optimize=True``, ``subsampling="4:4:4"``).

    Returns:
        The bytes of a standard JPEG file.

    Example:
        >>> data = encode(Image.new("RGB", (64, 48), "gray"), quality=60, effort=5)  # doctest: +SKIP
    """
    if isinstance(effort, bool) or not isinstance(effort, int) or effort < 0:
        raise ValueError(f"effort must be a non-negative integer, got {effort!r}")
    if isinstance(check_every, bool) or not isinstance(check_every, int) or check_every < 1:
        raise ValueError(f"check_every must be a positive integer, got {check_every!r}")
    x = image_to_tensor(image)
    encoder = get_backend(backend)
    m = get_metric(METRIC_OF_LOSS.get(metric, metric))

    def write(candidate: Tensor) -> bytes:
        return encoder.encode(tensor_to_pixels(candidate), quality, **jpeg_options)

    def measure(candidate: Tensor) -> tuple[float, float, bytes]:
        """(real distortion, real bpp, bytes) of the backend's file."""
        blob = write(candidate)
        decoded = np.asarray(Image.open(io.BytesIO(blob)).convert("L" if x.shape[1] == 1 else "RGB"))
        with torch.inference_mode():
            d = float(m.loss(x, image_to_tensor(decoded))[0])
        return d, 8 * len(blob) / (x.shape[-1] * x.shape[-2]), blob

    with torch.no_grad():
        start = prefilter(x, quality).clamp(0, 1) if prefilter is not None else x
    if effort == 0:
        return write(start)
    d0, bpp0, best = measure(start)  # also validates quality, options and backend before any optimization
    lam = float(estimate_lambda(x, quality, metric))
    best_cost, best_step = d0 + lam * bpp0, 0
    pixels = x.shape[-1] * x.shape[-2]
    subsampling = jpeg_options.get("subsampling", encoder.subsampling(quality))
    tables = None if backend == "pillow" else torch.as_tensor(encoder.tables(quality))
    xp = start.clone().requires_grad_()
    optimizer = torch.optim.Adam([xp], lr=lr / 255)
    for step in range(1, effort + 1):
        sim = simulate_jpeg(xp.clamp(0, 1), quality, subsampling, tables=tables)
        loss = sim.distortion(m.loss, x).sum() + lam * estimate_bits(sim).sum() / pixels
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % check_every == 0 or step == effort:
            with torch.no_grad():
                d, bpp, blob = measure(xp.clamp(0, 1))
            cost = d + lam * bpp
            if cost < best_cost:
                best_cost, best, best_step = cost, blob, step
            if callback is not None:
                callback({"step": step, "cost": cost, "bpp": bpp, "best_cost": best_cost, "best_step": best_step})
    return best

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

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from .images import image_to_tensor, roundtrip, tensor_to_pixels
from .jpeg.backends import check_quality
from .jpeg.simulator import resolve_subsampling, simulate_jpeg
from .models.lagrangian import estimate_lambda
from .models.masking import adaptive_masking
from .models.rate import estimate_bits
from .plugins import get_backend, get_metric, get_model, loss_name, models

Progress = Callable[[dict], None]


def resolve_prefilter(prefilter, metric: str) -> nn.Module | None:
    """The prefilter to use: "auto" → the shipped default for ``metric``; a name → that registered model; an
    ``nn.Module`` → itself; None or False → none.

    The default is the registered model named like the metric, except for MSE: there adaptive masking alone beat the
    trained network in front of it by real BD-rate (BENCHMARKS.md), so the MSE pipeline is masking only and the MSE
    network is used when asked for by name.
    """
    if prefilter is None or prefilter is False:
        return None
    if isinstance(prefilter, nn.Module):
        return prefilter
    if prefilter == "auto":
        name = loss_name(metric)
        if name in MASKED_METRICS:
            return None  # for MSE the masking alone measured better than the network in front of it
        return models()[name]() if name in models() else None
    if isinstance(prefilter, str):
        return get_model(prefilter)()
    raise ValueError(f"prefilter must be 'auto', a model name, an nn.Module or None, got {prefilter!r}")


MASKED_METRICS = ("mse",)  # metrics (by loss_name) whose default pipeline includes adaptive masking
TILE = 512  # prefilter tile side: bounds memory for large images, same result (Prefilter.forward_tiled)


def apply_prefilter(model: nn.Module | None, x: Tensor, quality: int) -> Tensor:
    if model is None:
        return x
    with torch.inference_mode():
        tiled = getattr(model, "forward_tiled", None)
        y = tiled(x, quality, TILE) if tiled is not None else model(x, quality)
    return y.clamp(0, 1).clone()  # clone: a normal tensor, usable as the start of refinement


def _subsampling(encoder, quality: int, jpeg_options: dict) -> str:
    """The chroma subsampling the backend will use with these options."""
    chosen = jpeg_options.get("subsampling", -1)
    return encoder.subsampling(quality, **jpeg_options) if chosen in (-1, None) else resolve_subsampling(chosen)


def _tables(encoder, quality: int, jpeg_options: dict) -> Tensor | None:
    """The quantization tables the backend will use, for the simulator; None: the IJG tables (Pillow)."""
    return None if encoder.name == "pillow" else torch.as_tensor(encoder.tables(quality, **jpeg_options))


def preprocess(x: Tensor, quality: int, model: nn.Module | None, masking: bool, encoder, jpeg_options: dict) -> Tensor:
    """The image the backend receives: prefilter network, then adaptive DCT-domain masking for this encoder."""
    y = apply_prefilter(model, x, quality)
    if masking:
        tables = _tables(encoder, quality, jpeg_options)
        y = adaptive_masking(y, quality, _subsampling(encoder, quality, jpeg_options), tables=tables)
    return y


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
    return int(value)


def encode(
    image,
    quality: int | None = None,
    metric: str = "mse",
    backend: str = "pillow",
    effort: int = 0,
    prefilter="auto",
    masking: bool | None = None,
    callback: Progress | None = None,
    max_bytes: int | None = None,
    check_every: int = 5,
    lr: float = 0.5,
    **jpeg_options,
) -> bytes:
    """Encode an image as a standard JPEG, RD-optimized for ``metric`` at ``quality``.

    Args:
        image: a PIL image (RGB or L), a uint8 array (H, W) / (H, W, 3), or a float tensor in [0, 1].
        quality: JPEG quality 1..100 (default 75); with ``max_bytes``, the highest quality to consider (default 100).
        metric: what to optimize for: "mse", "msssim", "lpips" (or any registered metric).
        backend: the encoder that writes the file: "pillow", "mozjpeg", "jpegli", or a plugin.
        effort: per-image refinement steps (0 = none).
        prefilter: "auto" (the shipped default for ``metric``: the msssim and lpips networks; none for mse, whose
            default is the masking), a model name ("mse", "msssim", "lpips" or a plugin's), an ``nn.Module`` called
            as ``prefilter(x, quality)``, or None.
        masking: adaptive DCT-domain masking (:mod:`rdjpeg.models.masking`) after the prefilter. Default: on for "mse"
            (its decisions weigh squared error; for MS-SSIM it is neutral and for LPIPS harmful, BENCHMARKS.md), off
            with custom ``qtables`` (its decisions need the encoder's tables).
        callback: called with a dict (step, real cost, bpp, best step) after every real-codec check.
        max_bytes: target size: the highest quality whose file fits in this many bytes (binary search, prefilter on).
        check_every: refinement steps between real-codec checks.
        lr: Adam step size, in 8-bit levels.
        **jpeg_options: passed to the backend (e.g. ``optimize=True``, ``subsampling="4:4:4"``).

    Returns:
        The bytes of a standard JPEG file.

    Raises:
        ValueError: bad arguments, or no quality fits ``max_bytes``; raised before any output exists.

    Example:
        >>> from PIL import Image
        >>> data = encode(Image.new("RGB", (64, 48), "gray"), quality=60)
        >>> data[:2]
        b'\\xff\\xd8'
    """
    effort = _check_int("effort", effort, 0)
    check_every = _check_int("check_every", check_every, 1)
    x = image_to_tensor(image)
    encoder = get_backend(backend)
    if getattr(get_metric(metric), "judge_only", False):  # unknown metric: fails here
        raise ValueError(f"metric {metric!r} is a judge only: rdjpeg never optimizes for it")
    model = resolve_prefilter(prefilter, metric)
    if quality is not None:
        quality = check_quality(quality)
    encoder.check_options(jpeg_options)
    if masking is None:
        masking = loss_name(metric) in MASKED_METRICS and jpeg_options.get("qtables") is None
    elif not isinstance(masking, bool):
        raise ValueError(f"masking must be True, False or None, got {masking!r}")

    def start_at(q: int) -> Tensor:
        return preprocess(x, q, model, masking, encoder, jpeg_options)

    if max_bytes is not None:
        max_bytes = _check_int("max_bytes", max_bytes, 1)
        top = 100 if quality is None else quality
        quality, data = search_quality(lambda q: encoder.encode(tensor_to_pixels(start_at(q)), q, **jpeg_options),
                                       top, max_bytes)  # fmt: skip
        if effort == 0:
            return data
        refined = _refine(x, start_at(quality), quality, metric, encoder, effort, callback, check_every, lr,
                          jpeg_options)  # fmt: skip
        return refined if len(refined) <= max_bytes else data
    quality = 75 if quality is None else quality
    start = start_at(quality)
    if effort == 0:
        return encoder.encode(tensor_to_pixels(start), quality, **jpeg_options)
    return _refine(x, start, quality, metric, encoder, effort, callback, check_every, lr, jpeg_options)


def search_quality(write: Callable[[int], bytes], top: int, max_bytes: int) -> tuple[int, bytes]:
    """The highest quality in 1..``top`` whose file fits in ``max_bytes`` (sizes grow with quality), and its bytes."""
    lo, hi, best = 1, check_quality(top), None
    while lo <= hi:
        mid = (lo + hi) // 2
        data = write(mid)
        if len(data) <= max_bytes:
            best, lo = (mid, data), mid + 1
        else:
            hi = mid - 1
    if best is None:
        raise ValueError(f"no quality fits in {max_bytes} bytes: the smallest file (quality 1) has "
                         f"{len(write(1))} bytes")  # fmt: skip
    return best


def _refine(x, start, quality, metric, encoder, effort, callback, check_every, lr, jpeg_options) -> bytes:
    """Per-image gradient descent on the RD cost from ``start``; the best iterate by the real codec's cost."""
    m = get_metric(metric)

    def write(pixels: np.ndarray, q: int) -> bytes:
        return encoder.encode(pixels, q, **jpeg_options)

    def measure(candidate: Tensor) -> tuple[float, float, bytes]:
        """(real distortion, real bpp, bytes) of the backend's file."""
        blob, decoded, bpp = roundtrip(write, tensor_to_pixels(candidate), quality)
        with torch.inference_mode():
            d = float(m.loss(x, decoded)[0])
        return d, bpp, blob

    d0, bpp0, best = measure(start)  # also validates quality, options and backend before any optimization
    # The slope of this encoder's own curve: its tables and entropy coding set the price of a bit. (Custom qtables do
    # not move with the quality, so there the IJG curve stands in.)
    curve = None if "qtables" in jpeg_options else write
    lam = float(estimate_lambda(x, quality, metric, encode=curve))
    best_cost, best_step = d0 + lam * bpp0, 0
    pixels = x.shape[-1] * x.shape[-2]
    subsampling = _subsampling(encoder, quality, jpeg_options)
    tables = _tables(encoder, quality, jpeg_options)
    xp = start.clone().requires_grad_()
    optimizer = torch.optim.Adam([xp], lr=lr / 255)
    for step in range(1, effort + 1):
        sim = simulate_jpeg(xp.clamp(0, 1), quality, subsampling, tables=tables)
        d = sim.distortion(m.loss, x, getattr(m, "gradient_at", "proxy"))
        loss = d.sum() + lam * estimate_bits(sim).sum() / pixels
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

"""``rdjpeg.encode``: optional prefilter → optional adaptive masking → optional per-image RD refinement → a real
encoder backend → JPEG bytes; and the target-size search.

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

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from .images import image_to_pixels, image_to_tensor, roundtrip, tensor_to_pixels
from .jpeg.backends import Backend
from .jpeg.simulator import simulate
from .models.lagrangian import measure_lambda
from .models.masking import apply_masking, mask_in_strips
from .models.rate import estimate_bits
from .plugins import get_backend, get_metric, get_model, loss_name, models
from .validate import check_int, check_quality, subsampling_name

Progress = Callable[[dict], None]
MASKED_METRICS = ("mse",)  # metrics (by loss_name) whose default pipeline includes adaptive masking
TILE = 512  # prefilter tile side: bounds memory for large images, same result (Prefilter.forward_tiled)
MAX_SIDE = 65500  # libjpeg's JPEG_MAX_DIMENSION
STRIP_ABOVE = 4_000_000  # pixels: larger images are masked in strips, in bounded memory (mask_in_strips)
MAX_EFFORT = 1000  # refinement steps; more has never paid (BENCHMARKS.md, "Per-image refinement")
MAX_REFINE_SECONDS = 300.0  # per image: refinement stops there and keeps the best file measured so far


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
        factory = models().get(loss_name(metric))
        return factory() if factory is not None and loss_name(metric) not in MASKED_METRICS else None
    if isinstance(prefilter, str):
        return get_model(prefilter)()
    raise TypeError(f"prefilter must be 'auto', a model name, an nn.Module or None, got {prefilter!r}")


def apply_prefilter(model: nn.Module | None, x: Tensor, quality: int, in_place: bool = False) -> Tensor:
    """The prefilter's output, clamped to [0, 1]; ``in_place``: written over ``x`` (no second full-size image)."""
    if model is None:
        return x
    with torch.inference_mode():
        tiled = getattr(model, "forward_tiled", None)
        y = tiled(x, quality, TILE, out=x if in_place else None) if tiled is not None else model(x, quality)
        return y.clamp_(0, 1)


@dataclass
class Writer:
    """A backend with the user's options: writes files, and tells the simulator what the file will hold."""

    backend: Backend
    options: dict = field(default_factory=dict)
    fixed_quality: int | None = None  # -1: Pillow writes custom qtables unscaled, whatever the quality

    def __call__(self, pixels: np.ndarray, quality: int) -> bytes:
        return self.backend.write(pixels, quality if self.fixed_quality is None else self.fixed_quality,
                                  **self.options)  # fmt: skip

    def subsampling(self, quality: int) -> str:
        chosen = self.options.get("subsampling", -1)
        return self.backend.subsampling(quality, **self.options) if chosen == -1 else subsampling_name(chosen)

    def tables(self, quality: int) -> Tensor | None:
        """(1, 2, 8, 8) int64 tables for the simulator; None: the IJG tables at ``quality`` (Pillow)."""
        if self.backend.name == "pillow":
            return None
        return torch.as_tensor(self.backend.tables(quality, **self.options), dtype=torch.int64)[None]


@dataclass
class Settings:
    """Checked arguments of :func:`encode` that shape the edit."""

    metric: str | None  # None: no edit (the default pipeline)
    model: nn.Module | None
    masking: bool
    effort: int
    check_every: int
    lr: float
    callback: Progress | None

    @property
    def edits(self) -> bool:
        """Whether the pipeline changes the pixels at all."""
        return self.model is not None or self.masking or self.effort > 0


def preprocess(x: Tensor, quality: int, settings: Settings, writer: Writer, reuse: bool = False) -> Tensor:
    """The image the backend receives: prefilter network, then adaptive DCT-domain masking for this encoder.
    ``reuse``: ``x`` is not needed afterwards, and a large image is masked in place (one full-size copy less)."""
    y = apply_prefilter(settings.model, x, quality, in_place=reuse)
    if settings.masking:
        q, subsampling, tables = (
            torch.tensor([quality], device=y.device),
            writer.subsampling(quality),
            writer.tables(quality),
        )
        if y.shape[-2] * y.shape[-1] > STRIP_ABOVE:
            return mask_in_strips(y, q, subsampling, tables, out=y if reuse or y is not x else None)
        y = apply_masking(y, q, subsampling, tables=tables)
    return y


def encode(  # 60+ lines: most of them the docstring of the main public function
    image,
    quality: int | None = None,
    *,
    metric: str | None = None,
    backend: str | None = None,
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
        quality: JPEG quality 1..100 (default 75; with custom ``qtables`` and no quality, the tables as given, as
            Pillow does); with ``max_bytes``, the highest quality to consider (default 100).
        metric: what to optimize for: "mse", "msssim", "lpips" (or any registered metric). None (default): no
            edit, rdjpeg's default encoder (:class:`~rdjpeg.jpeg.backends.DefaultBackend`: jpegli, whose quality is
            mapped so that ``quality`` keeps the look of Pillow's JPEG at that quality).
        backend: the encoder that writes the file: "default", "pillow", "mozjpeg", "jpegli", or a plugin. None:
            "default" without a metric (or Pillow's when ``jpeg_options`` ask for what only Pillow's encoder does,
            such as ``qtables``, 4:4:4 or restart markers), "pillow" with one (the paper's pipelines).
        effort: per-image refinement steps (0 = none; at most ``MAX_EFFORT``, 1000; refinement also stops after
            ``MAX_REFINE_SECONDS``, 300 s, keeping the best file measured).
        prefilter: "auto" (the shipped default for ``metric``: the msssim and lpips networks; none for mse, whose
            default is the masking), a model name ("mse", "msssim", "lpips" or a plugin's), an ``nn.Module`` called
            as ``prefilter(x, quality)``, or None.
        masking: adaptive DCT-domain masking (:mod:`rdjpeg.models.masking`) after the prefilter. Default: on for
            "mse" (its decisions weigh squared error; for MS-SSIM it is neutral and for LPIPS harmful,
            BENCHMARKS.md), off with custom ``qtables`` (its decisions need the encoder's tables).
        callback: called with a dict (step, real cost, bpp, best step) after every real-codec check.
        max_bytes: target size: the highest quality whose file fits in this many bytes (binary search, prefilter
            on); :func:`encode_to_size` also returns the quality chosen.
        check_every: refinement steps between real-codec checks.
        lr: Adam step size, in 8-bit levels.
        **jpeg_options: passed to the backend (e.g. ``optimize=True``, ``subsampling="4:4:4"``).

    Returns:
        The bytes of a standard JPEG file.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a bad value, or no quality fits ``max_bytes``; raised before any output exists.

    Example:
        >>> from PIL import Image
        >>> data = encode(Image.new("RGB", (64, 48), "gray"), quality=60)
        >>> data[:2]
        b'\\xff\\xd8'
    """
    settings = check_settings(metric, prefilter, masking, effort, check_every, lr, callback, jpeg_options)
    if max_bytes is not None:
        max_bytes = check_int("max_bytes", max_bytes, 1)
    return _encode(image, quality, max_bytes, settings, backend, jpeg_options)[0]


def encode_to_size(image, max_bytes: int, quality: int | None = None, **options) -> tuple[bytes, int]:
    """The file :func:`encode` writes with ``max_bytes`` (every other option as there), and the quality chosen.

    Example:
        >>> from PIL import Image
        >>> data, quality = encode_to_size(Image.new("RGB", (64, 48), "gray"), max_bytes=1000)
        >>> len(data) <= 1000 and 1 <= quality <= 100
        True
    """
    jpeg_options = {k: v for k, v in options.items() if k not in SETTINGS}
    backend = jpeg_options.pop("backend", None)
    settings = check_settings(**{k: v for k, v in options.items() if k in SETTINGS}, jpeg_options=jpeg_options)
    return _encode(image, quality, check_int("max_bytes", max_bytes, 1), settings, backend, jpeg_options)


def resolve_backend(backend: str | None, metric: str | None, jpeg_options: dict) -> str:
    """The backend :func:`encode` writes with (see its ``backend`` argument)."""
    if backend is not None:
        return backend
    if metric is not None:
        return "pillow"
    return "default" if get_backend("default").accepts(jpeg_options) else "pillow"


def _encode(image, quality, max_bytes, settings: Settings, backend, jpeg_options: dict) -> tuple[bytes, int]:
    """(file, quality) for checked settings and ``max_bytes``; checks the rest."""
    # Unedited: the pixels go to the encoder as they are, without a float copy of the image.
    x = image_to_tensor(image) if settings.edits else image_to_pixels(image)
    (height, width), gray = (x.shape[-2:], x.shape[1] == 1) if settings.edits else (x.shape[:2], x.ndim == 2)
    if max(height, width) > MAX_SIDE:
        raise ValueError(f"JPEG is limited to {MAX_SIDE:,} pixels per side, got {width}×{height}")
    writer = Writer(get_backend(resolve_backend(backend, settings.metric, jpeg_options)), jpeg_options)
    writer.backend.check(jpeg_options, gray=gray)
    if quality is not None:
        quality = check_quality(quality)
    elif "qtables" in jpeg_options and max_bytes is None:
        # Pillow's meaning: custom tables without a quality are written as given (16-bit entries too); the
        # prefilter is conditioned on quality 50, whose IJG scale is 100 %.
        writer.fixed_quality, quality = -1, 50
    if max_bytes is None:
        quality = 75 if quality is None else quality
        if not settings.edits:
            return writer(x, quality), quality
        start = preprocess(x, quality, settings, writer, reuse=settings.effort == 0)
        if settings.effort == 0:
            return writer(tensor_to_pixels(start), quality), quality
        return refine(x, start, quality, settings, writer), quality

    def write(q: int) -> bytes:
        return writer(tensor_to_pixels(preprocess(x, q, settings, writer)) if settings.edits else x, q)

    quality, data = search_quality(write, 100 if quality is None else quality, max_bytes)
    if settings.effort == 0:
        return data, quality
    refined = refine(x, preprocess(x, quality, settings, writer), quality, settings, writer)
    return (refined if len(refined) <= max_bytes else data), quality


SETTINGS = ("metric", "prefilter", "masking", "effort", "check_every", "lr", "callback")  # the rest: encoder options


def check_settings(metric: str | None = None, prefilter="auto", masking: bool | None = None, effort: int = 0,
                   check_every: int = 5, lr: float = 0.5, callback: Progress | None = None,
                   jpeg_options: dict | None = None) -> Settings:  # fmt: skip
    """:class:`Settings` from :func:`encode`'s arguments (same defaults), checked."""
    jpeg_options = jpeg_options or {}
    effort, check_every = check_int("effort", effort, 0, MAX_EFFORT), check_int("check_every", check_every, 1)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        raise TypeError(f"lr must be a number, got {lr!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {callback!r}")
    if masking is not None and not isinstance(masking, bool):
        raise TypeError(f"masking must be True, False or None, got {masking!r}")
    if metric is None:
        edits = {"prefilter": prefilter not in ("auto", None, False), "masking": masking is True, "effort": effort != 0}
        if any(edits.values()):
            raise ValueError(f"{', '.join(k for k, v in edits.items() if v)} edit the image for a metric: name one "
                             "(metric='mse', 'msssim' or 'lpips'); without one rdjpeg's default encoder writes the "
                             "image unedited")  # fmt: skip
        return Settings(None, None, False, 0, check_every, float(lr), callback)
    chosen = get_metric(metric)  # unknown metric: fails here
    if getattr(chosen, "judge_only", False):
        raise ValueError(f"metric {metric!r} is a judge only: rdjpeg never optimizes for it")
    if effort and not getattr(chosen, "refinement_pays", False):
        raise ValueError(f"per-image refinement (effort > 0) is not offered for metric {metric!r}: it did not improve "
                         "both judges, SSIMULACRA2 and butteraugli, over effort 0 (BENCHMARKS.md, 'Per-image "
                         "refinement, judged'); use effort=0")  # fmt: skip
    if masking is None:
        masking = loss_name(metric) in MASKED_METRICS and jpeg_options.get("qtables") is None
    return Settings(metric, resolve_prefilter(prefilter, metric), masking, effort, check_every, float(lr), callback)


def search_quality(write: Callable[[int], bytes], top: int, max_bytes: int) -> tuple[int, bytes]:
    """The highest quality in 1..``top`` whose file fits in ``max_bytes`` (sizes grow with quality), and its bytes."""
    lo, hi, best = 1, top, None
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


def refine(x: Tensor, start: Tensor, quality: int, settings: Settings, writer: Writer) -> bytes:
    """Per-image gradient descent on the RD cost from ``start``; the best iterate by the real codec's cost."""
    m = get_metric(settings.metric)

    def measure(candidate: Tensor) -> tuple[float, float, bytes]:
        """(real distortion, real bpp, bytes) of the backend's file."""
        blob, decoded, bpp = roundtrip(writer, tensor_to_pixels(candidate), quality)
        with torch.inference_mode():
            d = float(m.loss(x, decoded)[0])
        return d, bpp, blob

    d0, bpp0, best = measure(start)
    # The slope of this encoder's own curve: its tables and entropy coding set the price of a bit. (Custom qtables do
    # not move with the quality, so there the IJG curve stands in.)
    curve = None if "qtables" in writer.options else writer
    lam = float(measure_lambda(x, torch.tensor([quality]), settings.metric, encode=curve))
    best_cost, best_step = d0 + lam * bpp0, 0
    pixels = x.shape[-1] * x.shape[-2]
    q, subsampling, tables = torch.tensor([quality]), writer.subsampling(quality), writer.tables(quality)
    xp = start.clone().requires_grad_()
    optimizer = torch.optim.Adam([xp], lr=settings.lr / 255)
    deadline = time.monotonic() + MAX_REFINE_SECONDS
    for step in range(1, settings.effort + 1):
        sim = simulate(xp.clamp(0, 1), q, subsampling, tables=tables)
        d = sim.distortion(m.loss, x, getattr(m, "gradient_at", "proxy"))
        loss = d.sum() + lam * estimate_bits(sim).sum() / pixels
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        out_of_time = time.monotonic() > deadline
        if step % settings.check_every and step != settings.effort and not out_of_time:
            continue
        with torch.no_grad():
            d, bpp, blob = measure(xp.clamp(0, 1))
        cost = d + lam * bpp
        if cost < best_cost:
            best_cost, best, best_step = cost, blob, step
        if settings.callback is not None:
            settings.callback({"step": step, "cost": cost, "bpp": bpp, "best_cost": best_cost, "best_step": best_step})
        if out_of_time:
            break
    return best

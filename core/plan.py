"""The plan of an encode: every option checked once and the encoder chosen, before any image is touched.

:func:`make_plan` turns options into a :class:`Plan`; :meth:`Plan.encode` writes one image with it. Every door
calls it: :func:`encode` and :func:`encode_to_size` here, the Pillow format, the imageio plugin, the torchvision
transform, ``rdjpeg compress`` and the Ray path (one plan for a whole batch: bad options fail before the first file).

Without a ``metric`` the plan writes the image unedited, with rdjpeg's default encoder (or Pillow's, for options
only Pillow's encoder honours), and imports no torch: at a ``quality`` that means a look (the same on every photo),
at a ``target`` score measured on the file, or at the highest quality that fits ``max_bytes``. With a metric, the
learned edits (:mod:`rdjpeg.learned.edits`: prefilter network, adaptive DCT-domain masking) run first; they need
the ``learned`` extra and load torch.

A JPEG input (``source``, its bytes) never grows: when its lossless optimization is no larger than the re-encode at
the asked look, that is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .extras import require
from .images import decode_jpeg, image_to_pixels
from .jpeg.markers import METADATA_OPTIONS, add_metadata
from .jpeg.tables import MAX_SIDE
from .registry import get_backend, get_metric, get_model, loss_name, models
from .targets import Encoded, Target, parse_target
from .validate import check_int, check_quality

# What the plan itself takes; every other option goes to the encoder backend, which says what it accepts.
PLAN_OPTIONS = ("metric", "backend", "prefilter", "masking", "max_bytes", "target")
DEFAULT_QUALITY = 75  # Pillow's
# Metrics (by loss_name) whose pipeline masks by default: BENCHMARKS.md, "Adaptive DCT-domain masking".
MASKED_METRICS = ("mse",)


@dataclass(frozen=True)
class Plan:
    """Checked options (made by :func:`make_plan`; the fields mean what its arguments mean, resolved)."""

    backend: str  # the registered backend that writes the file
    options: dict = field(default_factory=dict)  # that backend's options
    quality: int | None = None  # None: 75, or custom ``qtables`` as given, or with ``max_bytes`` a ceiling of 100
    max_bytes: int | None = None
    metric: str | None = None  # None: no edit
    prefilter: Any = None  # a registered model's name or an nn.Module (with a metric), or None
    masking: bool = False
    target: Target | None = None

    @property
    def edits(self) -> bool:
        """Whether the pixels are edited before the encoder sees them."""
        return self.prefilter is not None or self.masking

    def encode(self, image, quality: int | None = None, metadata: dict | None = None,
               source: bytes | None = None) -> Encoded:  # fmt: skip
        """The file for ``image`` (a PIL image in RGB or L, a uint8 array (H, W[, 1|3]) or a float tensor in
        [0, 1]); ``quality`` replaces the plan's; ``metadata`` (EXIF, ICC profile, … of the source) is written too.
        ``source``: the JPEG file ``image`` was decoded from; its lossless optimization is written when no larger
        (``Encoded.lossless``).

        Raises TypeError for an image of the wrong type, ValueError for a bad one (mode, size, gray for an encoder of
        RGB only) or when no quality fits ``max_bytes``. Warns :class:`rdjpeg.targets.TargetNotReached` when the
        image's best file is below the target.
        """
        encoded = self._encode(image, quality, metadata or {}, "write")
        if source is not None and not self.edits and source[:2] == b"\xff\xd8":
            kept = optimized_jpeg(source, {**self.options, **(metadata or {})})
            if kept is not None and len(kept) <= len(encoded.data):
                score = None if self.target is None else 100.0  # the decoded input itself
                return Encoded(kept, encoded.quality, score, True, encoded.encodes, encoded.scorings, lossless=True)
        return encoded

    def roundtrip(self, pixels: np.ndarray, quality: int | None = None) -> np.ndarray:
        """What Pillow's decoder shows of this plan's file of uint8 ``pixels``, as (H, W) or (H, W, 3): the file is
        written as cheaply as the backend can with the same pixels (no entropy optimization, no metadata)."""
        method = "write" if self.max_bytes is not None else "write_for_decoding"  # a size needs the real file
        return decode_jpeg(self._encode(pixels, quality, {}, method).data, gray=pixels.ndim == 2)

    def _encode(self, image, quality: int | None, metadata: dict, method: str) -> Encoded:
        quality = self.quality if quality is None else check_quality(quality)
        backend, options = get_backend(self.backend), {**self.options, **metadata}
        if self.edits:
            from .learned.edits import Edit

            edit = Edit(self, backend, method, options, image, in_place=self.max_bytes is None)
            (height, width), gray, write = edit.size, edit.gray, edit.write
        else:
            pixels = image_to_pixels(image)
            (height, width), gray = pixels.shape[:2], pixels.ndim == 2

            def write(q: int) -> bytes:
                return getattr(backend, method)(pixels, q, **options)

        if max(height, width) > MAX_SIDE:
            raise ValueError(f"JPEG is limited to {MAX_SIDE:,} pixels per side, got {width}×{height}")
        if gray and not backend.writes_gray:
            raise ValueError(f"the {backend.name!r} backend encodes RGB images only; this one is grayscale")
        if self.target is not None:
            return backend.write_to_target(pixels, self.target, **options)
        if self.max_bytes is not None:
            return search_quality(write, 100 if quality is None else quality, self.max_bytes)
        if quality is None and "qtables" in options:
            return Encoded(write(-1), DEFAULT_QUALITY)  # Pillow's meaning: custom tables as given, unscaled
        quality = DEFAULT_QUALITY if quality is None else quality
        return Encoded(write(quality), quality)


def make_plan(quality: int | None = None, *, metric: str | None = None, backend: str | None = None,
              prefilter="auto", masking: bool | None = None, max_bytes: int | None = None, target=None,
              **options) -> Plan:  # fmt: skip
    """Check the options of an encode once and choose its encoder.

    Args:
        quality: JPEG quality 1..100 (default 75; with custom ``qtables`` and no quality, the tables as given, as
            Pillow does); with ``max_bytes``, the highest quality to consider (default 100).
        metric: a learned pipeline to run before the encoder: "mse" (the paper's, adaptive masking), "msssim",
            "lpips" (their networks), or an extension's metric. None (default): the image unedited.
        backend: a registered encoder (:func:`rdjpeg.registry.backends`: "default", "pillow", "mozjpeg", "jpegli",
            or an extension's). None: "default" without a
            metric (Pillow's encoder when ``options`` ask for what only it does, such as ``qtables``, ``smooth``
            or ``keep_rgb``), "pillow" with one (the paper's pipelines). "default" chooses its subsampling per
            image from the pixels, so it takes no metric.
        prefilter: with a metric: "auto" (the shipped network for it; none for mse, whose pipeline is the
            masking), a model's name, an ``nn.Module`` called as ``prefilter(x, quality)``, or None.
        masking: with a metric: adaptive DCT-domain masking after the prefilter. Default: on for "mse" (for MS-SSIM it
            is neutral, for LPIPS harmful: BENCHMARKS.md), off with custom ``qtables``, which it cannot model.
        max_bytes: the highest quality whose file fits in this many bytes (a binary search).
        target: ``"ssimulacra2:80"`` (or ``"psnr:40"``): the smallest file of the default encoder whose score
            against the image is at least that, measured (:mod:`rdjpeg.targets`); not with ``quality``,
            ``max_bytes`` or a metric, which choose the file another way.
        **options: the backend's (Pillow's JPEG save options for "pillow": ``optimize``, ``subsampling``, ``exif``,
            ``qtables``, …; ``table`` for "mozjpeg").

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: a bad value (an unknown metric or backend: :class:`rdjpeg.registry.UnknownNameError`).
        ImportError: a learned pipeline (``metric``, ``prefilter``, ``masking``) without the ``learned`` extra.

    Example:
        >>> plan = make_plan(80, comment="rdjpeg")
        >>> plan.backend, plan.edits
        ('default', False)
    """
    if metric is not None or prefilter not in ("auto", None, False) or masking:
        require("learned", "a learned pipeline (metric=, prefilter=, masking=)")
    if quality is not None:
        quality = check_quality(quality)
    if max_bytes is not None:
        max_bytes = check_int("max_bytes", max_bytes, 1)
    if masking is not None and not isinstance(masking, bool):
        raise TypeError(f"masking must be True, False or None, got {masking!r}")
    if target is not None:
        target = parse_target(target)
        others = [k for k, v in (("quality", quality), ("max_bytes", max_bytes), ("metric", metric)) if v is not None]
        if others:
            raise ValueError(f"target and {' and '.join(others)} each choose the file; give one of them")
    name = resolve_backend(backend, metric, options)
    if target is not None and name != "default":
        raise ValueError(f"a target is reached with rdjpeg's default encoder, not the {name!r} backend"
                         + ("" if backend else f" that {sorted(options)} need"))  # fmt: skip
    get_backend(name).check(options)  # the encoder's errors first: Pillow's, for Pillow's options
    if metric is None:
        asked = [edit for edit, on in (("prefilter", prefilter not in ("auto", None, False)), ("masking", masking))
                 if on]  # fmt: skip
        if asked:
            verb = "edits" if len(asked) == 1 else "edit"
            raise ValueError(f"{' and '.join(asked)} {verb} the image for a metric: name one (metric='mse', "
                             "'msssim' or 'lpips'); without one the image is written unedited")  # fmt: skip
        prefilter, masking = None, False
    else:
        chosen = get_metric(metric)
        if getattr(chosen, "judge_only", False):
            raise ValueError(f"metric {metric!r} is a judge only: rdjpeg never optimizes for it")
        if name == "default":
            raise ValueError("the 'default' backend chooses its subsampling per image from the unedited pixels, so "
                             "a metric's edits, which need the encoder's tables first, cannot run before it: use "
                             "backend='pillow', 'mozjpeg' or 'jpegli'")  # fmt: skip
        if masking and "qtables" in options:
            raise ValueError("masking decides with the encoder's quantization tables and cannot model custom qtables")
        masking = default_masking(metric, options) if masking is None else masking
        prefilter = resolve_prefilter(prefilter, metric)
    return Plan(name, options, quality, max_bytes, metric, prefilter, masking, target)


def default_masking(metric: str, options: dict) -> bool:
    """Whether ``metric``'s pipeline masks when not told: for the masked metrics, unless custom tables are given."""
    return loss_name(metric) in MASKED_METRICS and options.get("qtables") is None


def resolve_prefilter(prefilter, metric: str):
    """The prefilter a metric's pipeline runs, as a model name, an ``nn.Module`` or None."""
    if prefilter is None or prefilter is False:
        return None
    if prefilter == "auto":
        name = loss_name(metric)
        return name if name in models() and name not in MASKED_METRICS else None
    if isinstance(prefilter, str):
        get_model(prefilter)  # an unknown model: an error now
        return prefilter
    from torch import nn

    if isinstance(prefilter, nn.Module):
        return prefilter
    raise TypeError(f"prefilter must be 'auto', a model name, an nn.Module or None, got {prefilter!r}")


def resolve_backend(backend: str | None, metric: str | None, options: dict) -> str:
    """The backend a plan writes with (see :func:`make_plan`'s ``backend``)."""
    if backend is not None:
        return backend
    if metric is not None:
        return "pillow"
    return "default" if get_backend("default").accepts(options) else "pillow"


def search_quality(write: Callable[[int], bytes], top: int, max_bytes: int) -> Encoded:
    """The highest quality in 1..``top`` whose file fits in ``max_bytes`` (sizes grow with quality), and its file."""
    lo, hi, best = 1, top, None
    while lo <= hi:
        mid = (lo + hi) // 2
        data = write(mid)
        if len(data) <= max_bytes:
            best, lo = Encoded(data, mid), mid + 1
        else:
            hi = mid - 1
    if best is None:
        raise ValueError(f"no quality fits in {max_bytes} bytes: the smallest file (quality 1) has "
                         f"{len(write(1))} bytes")  # fmt: skip
    return best


def encode(image, quality: int | None = None, **options) -> bytes:
    """Encode an image as a standard JPEG: :func:`make_plan` with these options, then :meth:`Plan.encode`.

    Args:
        image: a PIL image (RGB or L), a uint8 array (H, W) / (H, W, 3), or a float tensor in [0, 1].
        quality: JPEG quality 1..100 (see :func:`make_plan`).
        **options: :func:`make_plan`'s (``metric``, ``backend``, ``max_bytes``, …) and the encoder's.

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
    return make_plan(quality, **options).encode(image).data


def encode_to_target(image, target, **options) -> Encoded:
    """The file :func:`encode` writes with ``target``, with the quality chosen and the score measured
    (:class:`~rdjpeg.targets.Encoded`); a target the image cannot reach gives its best file, ``reached`` False and a
    :class:`~rdjpeg.targets.TargetNotReached` warning.

    Example:
        >>> from PIL import Image
        >>> image = Image.effect_mandelbrot((96, 64), (-2, -1.2, 1, 1.2), 100).convert("RGB")
        >>> found = encode_to_target(image, "ssimulacra2:70")
        >>> found.reached, found.score >= 70
        (True, True)
    """
    return make_plan(target=target, **options).encode(image)


def optimized_jpeg(source: bytes, options: dict) -> bytes | None:
    """The JPEG file ``source`` losslessly optimized (mozjpeg's Huffman tables and progressive scans), its metadata
    segments those ``options`` ask for (as a re-encode would carry); None when it cannot be read as a JPEG."""
    import mozjpeg_lossless_optimization

    try:
        data = mozjpeg_lossless_optimization.optimize(source)
    except ValueError:
        return None
    return add_metadata(data, **{k: options[k] for k in METADATA_OPTIONS & options.keys()})


def encode_to_size(image, max_bytes: int, quality: int | None = None, **options) -> tuple[bytes, int]:
    """The file :func:`encode` writes with ``max_bytes`` (every other option as there), and the quality chosen.

    Example:
        >>> from PIL import Image
        >>> data, quality = encode_to_size(Image.new("RGB", (64, 48), "gray"), max_bytes=1000)
        >>> len(data) <= 1000 and 1 <= quality <= 100
        True
    """
    return tuple(make_plan(quality, max_bytes=max_bytes, **options).encode(image)[:2])

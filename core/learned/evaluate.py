"""Rate-distortion evaluation with real encoders and a real decoder, and Bjøntegaard-delta rates.

For every image, codec and quality: real encode → whole-file bytes → Pillow decode → metrics. bpp is
``bytes × 8 / pixels``. BD-rates (:mod:`rdjpeg.learned.report`) are against the first codec, reported on the
dataset-average RD curve and as the mean of per-image BD-rates, each over the range where the two curves overlap.

A codec is written ``backend[:option+option=value…]``, e.g. ``pillow``, ``pillow:optimize+progressive``,
``jpegli:optimize``, ``pillow:subsampling=4:4:4``. Further codecs, such as ``rdjpeg[:metric=…+…]`` here, join as
extensions through the ``rdjpeg_register_codecs`` hook (so that evaluation worker processes find them too).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from ..images import Encoder, image_to_tensor, open_image, roundtrip
from ..plan import make_plan
from ..registry import UnknownNameError, backends, codecs, get_backend, get_metric, metrics
from ..runtime import worker_pool
from ..validate import check_quality
from .report import bjontegaard_module, summarize


def rdjpeg_codec(options: dict) -> Encoder:
    """``rdjpeg[:metric=…+backend=…+<jpeg options>]``: :func:`rdjpeg.encode` as an evaluation codec, its options
    checked once (plain ``rdjpeg``: the default pipeline)."""
    plan = make_plan(**options)
    return lambda pixels, quality: plan.encode(pixels, quality).data


def _parse_value(text: str):
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@dataclass(frozen=True)
class Codec:
    """A parsed codec specification."""

    label: str
    name: str
    options: dict = field(default_factory=dict, hash=False)

    @classmethod
    def parse(cls, spec: str) -> Codec:
        name, _, rest = spec.strip().partition(":")
        options = {}
        for part in filter(None, rest.split("+")):
            key, eq, value = part.partition("=")
            options[key] = _parse_value(value) if eq else True
        if name not in codecs() and name not in backends():
            known = sorted(set(codecs()) | set(backends()))
            raise UnknownNameError(f"unknown codec {name!r} in {spec!r}; available: {', '.join(known)}")
        return cls(spec.strip(), name, options)

    def encoder(self) -> Encoder:
        if self.name in codecs():
            return codecs()[self.name](dict(self.options))
        backend = get_backend(self.name)
        backend.check(self.options)  # the rest (gray images, pixels, quality) when it encodes
        return lambda pixels, quality: backend.encode(pixels, quality, **self.options)


def evaluate_image(path: str, codecs: Sequence[str], qualities: Sequence[int], metric_names: Sequence[str]) -> list:
    """All records of one image: one per codec and quality."""
    pixels = np.asarray(open_image(path))
    x = image_to_tensor(pixels)
    chosen = [get_metric(m) for m in metric_names]
    records = []
    for spec in codecs:
        codec = Codec.parse(spec)
        encode = codec.encoder()
        for q in qualities:
            data, y, bpp = roundtrip(encode, pixels, q)
            with torch.inference_mode():
                scores = {m.name: float(m.score(x, y)[0]) for m in chosen}
            records.append({"image": os.path.basename(path), "codec": codec.label, "quality": int(q),
                            "bytes": len(data), "bpp": bpp, **scores})  # fmt: skip
    return records


def evaluate(
    images: Sequence[str],
    codecs: Sequence[str],
    qualities: Sequence[int],
    metric_names: Sequence[str] = ("psnr",),
    jobs: int = 1,
    progress: bool = True,
) -> dict:
    """Run the RD evaluation; returns ``{"records", "summary", ...}``. Arguments are checked before any work.

    Example:
        >>> result = evaluate(["a.png"], ["pillow", "pillow:optimize"], [30, 50, 70], ["psnr"])  # doctest: +SKIP
        >>> result["summary"]["bd_rate"]["psnr"]["pillow:optimize"]["average_curve"]  # doctest: +SKIP
    """
    if not images:
        raise ValueError("no images to evaluate")
    if len(codecs) < 1:
        raise ValueError("name at least one codec")
    parsed = [Codec.parse(c) for c in codecs]
    if len({c.label for c in parsed}) != len(parsed):
        raise ValueError("each codec may appear once")
    for c in parsed:
        c.encoder()  # a missing optional backend or a bad option fails here, before any work
    for q in qualities:
        check_quality(q, "qualities")
    if len(set(qualities)) < 2:
        raise ValueError("BD-rates need at least two distinct qualities")
    unknown = [m for m in metric_names if m not in metrics()]
    if unknown:
        raise UnknownNameError(f"unknown metric(s) {unknown}; available: {', '.join(sorted(metrics()))}")
    qualities = sorted(set(int(q) for q in qualities))
    bjontegaard_module()  # the optional extra BD-rates need: missing → ImportError before any work
    records: list = []
    bar = tqdm(total=len(images), desc="evaluate", unit="image", disable=not progress)
    if jobs <= 1:
        for path in images:
            records += evaluate_image(path, codecs, qualities, metric_names)
            bar.update()
    else:
        with worker_pool(jobs) as pool:
            futures = [pool.submit(evaluate_image, p, list(codecs), qualities, list(metric_names)) for p in images]
            for future in as_completed(futures):
                records += future.result()
                bar.update()
    bar.close()
    records.sort(key=lambda r: (r["image"], r["codec"], r["quality"]))
    return {"codecs": [c.label for c in parsed], "qualities": qualities, "metrics": list(metric_names),
            "images": [os.path.basename(p) for p in images], "records": records,
            "summary": summarize(records, [c.label for c in parsed], metric_names)}  # fmt: skip

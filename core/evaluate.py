"""Rate-distortion evaluation with real encoders and a real decoder, and Bjøntegaard-delta rates.

For every image, codec and quality: real encode → whole-file bytes → Pillow decode → metrics. bpp is
``bytes × 8 / pixels``. BD-rates (Akima, the ``bjontegaard`` package) are against the first codec, reported on the
dataset-average RD curve and as the mean of per-image BD-rates, each over the range where the two curves overlap.

A codec is written ``backend[:option+option=value…]``, e.g. ``pillow``, ``pillow:optimize+progressive``,
``jpegli:optimize``, ``pillow:subsampling=4:4:4``. Further codecs, such as ``rdjpeg[:metric=…+…]`` here, join as
plugins through the ``rdjpeg_register_codecs`` hook (so that evaluation worker processes find them too).
"""

from __future__ import annotations

import glob
import json
import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context

import numpy as np
import torch

from .hookspecs import hookimpl
from .images import Encoder, image_to_tensor, open_image, roundtrip
from .pipeline import encode
from .plugins import backends, codecs, get_backend, get_metric, metrics
from .validate import check_quality


def _rdjpeg_codec(options: dict) -> Encoder:
    """``rdjpeg[:metric=…+effort=…+backend=…+<jpeg options>]``: rdjpeg.encode as an evaluation codec."""
    settings = {"metric": "mse", "effort": 0, "backend": "pillow", **options}
    return lambda pixels, quality: encode(pixels, quality, **settings)


@hookimpl
def rdjpeg_register_codecs(register) -> None:
    register("rdjpeg", _rdjpeg_codec)


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
            raise ValueError(f"unknown codec {name!r} in {spec!r}; available: {', '.join(known)}")
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


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def bd_rate(anchor_bpp, anchor_value, test_bpp, test_value) -> float:
    """BD-rate in percent (Akima interpolation); NaN when the curves cannot be compared."""
    import bjontegaard

    a, t = np.argsort(anchor_value), np.argsort(test_value)
    try:
        return float(bjontegaard.bd_rate(np.asarray(anchor_bpp)[a], np.asarray(anchor_value)[a],
                                         np.asarray(test_bpp)[t], np.asarray(test_value)[t],
                                         method="akima", require_matching_points=False, min_overlap=0))  # fmt: skip
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return math.nan


def summarize(records: list, codecs: Sequence[str], metric_names: Sequence[str]) -> dict:
    """Average RD curves per codec and BD-rates against the first codec."""
    labels = [Codec.parse(c).label for c in codecs]
    images = sorted({r["image"] for r in records})
    qualities = sorted({r["quality"] for r in records})
    by = {(r["image"], r["codec"], r["quality"]): r for r in records}
    curves: dict = {}
    for label in labels:
        curves[label] = {"quality": qualities}
        for key in ["bpp", *metric_names]:
            curves[label][key] = [float(np.mean([by[(i, label, q)][key] for i in images])) for q in qualities]
    bd: dict = {}
    for name in metric_names:
        metric = get_metric(name)
        value = np.vectorize(metric.bd_value)
        bd[name] = {}
        anchor = labels[0]
        for label in labels[1:]:
            avg = bd_rate(curves[anchor]["bpp"], value(curves[anchor][name]),
                          curves[label]["bpp"], value(curves[label][name]))  # fmt: skip
            per_image = []
            for i in images:
                rows_a = [by[(i, anchor, q)] for q in qualities]
                rows_t = [by[(i, label, q)] for q in qualities]
                per_image.append(bd_rate([r["bpp"] for r in rows_a], value([r[name] for r in rows_a]),
                                         [r["bpp"] for r in rows_t], value([r[name] for r in rows_t])))  # fmt: skip
            bd[name][label] = {"average_curve": avg, "mean_per_image": float(np.nanmean(per_image))}
    return {"anchor": labels[0], "curves": curves, "bd_rate": bd}


def markdown_table(summary: dict, metric_names: Sequence[str]) -> str:
    """BD-rate table: one row per codec, one column per metric (average curve / mean of per-image)."""
    head = "| codec | " + " | ".join(f"{m} BD-rate (avg curve / per-image)" for m in metric_names) + " |"
    lines = [
        head,
        "|---" * (len(metric_names) + 1) + "|",
        f"| {summary['anchor']} (anchor) |" + " 0 |" * len(metric_names),
    ]
    for label in list(summary["curves"])[1:]:
        cells = [f"{summary['bd_rate'][m][label]['average_curve']:+.2f} % / "
                 f"{summary['bd_rate'][m][label]['mean_per_image']:+.2f} %" for m in metric_names]  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_curves(summary: dict, metric_names: Sequence[str], folder: str) -> list[str]:
    """One RD plot (PNG) per metric; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for name in metric_names:
        fig, ax = plt.subplots(figsize=(6, 4.2), dpi=110)
        many = len(summary["curves"]) > 10  # the default cycle has 10 colours: beyond, two curves would share one
        for i, (label, curve) in enumerate(summary["curves"].items()):
            color = plt.cm.tab20(i % 20) if many else None
            ax.plot(curve["bpp"], curve[name], marker="o", markersize=3, label=label, color=color)
        metric = get_metric(name)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(f"{name} ({metric.unit})" if metric.unit else name)
        ax.set_title(
            f"{name}: dataset-average RD curves ({'higher' if metric.higher_is_better else 'lower'} is better)"
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(folder, f"rd_{name}.png")
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def expand_images(patterns: Sequence[str]) -> list[str]:
    """Files matching the globs (recursive ``**`` allowed); a directory means every image file in its tree."""
    found: list[str] = []
    for pattern in patterns:
        if os.path.isdir(pattern):
            pattern = os.path.join(pattern, "**", "*")
        found += [p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p)]
    return sorted(dict.fromkeys(found))


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
        raise ValueError(f"unknown metric(s) {unknown}; available: {', '.join(sorted(metrics()))}")
    qualities = sorted(set(int(q) for q in qualities))
    from tqdm import tqdm

    records: list = []
    bar = tqdm(total=len(images), desc="evaluate", unit="image", disable=not progress)
    if jobs <= 1:
        for path in images:
            records += evaluate_image(path, codecs, qualities, metric_names)
            bar.update()
    else:
        context = get_context("spawn")  # fork after torch has started threads can deadlock
        threads = max(1, (os.cpu_count() or 1) // jobs)
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(threads,)) as pool:
            futures = [pool.submit(evaluate_image, p, list(codecs), qualities, list(metric_names)) for p in images]
            for future in as_completed(futures):
                records += future.result()
                bar.update()
    bar.close()
    records.sort(key=lambda r: (r["image"], r["codec"], r["quality"]))
    return {"codecs": [c.label for c in parsed], "qualities": qualities, "metrics": list(metric_names),
            "images": [os.path.basename(p) for p in images], "records": records,
            "summary": summarize(records, codecs, metric_names)}  # fmt: skip


def write_report(result: dict, folder: str) -> dict[str, str]:
    """results.json, results.md and rd_<metric>.png in ``folder``; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    paths = {"json": os.path.join(folder, "results.json"), "markdown": os.path.join(folder, "results.md")}
    with open(paths["json"], "w") as f:
        json.dump(result, f, indent=1)
    table = markdown_table(result["summary"], result["metrics"])
    with open(paths["markdown"], "w") as f:
        f.write(f"{len(result['images'])} images, qualities {result['qualities']}\n\n{table}\n")
    for path in plot_curves(result["summary"], result["metrics"], folder):
        paths[os.path.basename(path)] = path
    return paths

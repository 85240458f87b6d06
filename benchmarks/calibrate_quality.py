"""Fit the default pipeline's quality map for gray images on training images, so that ``quality=q`` keeps the look of
Pillow's JPEG at q (mean SSIMULACRA2), never Kodak: mozjpeg, on the images' luminance, one quality per q (the mean
curve). RGB images take their quality from the look predictor instead (``rdjpeg train look``; issue 27); until then
this script also fitted a per-q line in the image's complexity for jpegli (commit 936b4d6 holds that code).

    .venv/bin/python benchmarks/calibrate_quality.py --out core/weights/quality-map.json
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from rdjpeg.images import image_to_tensor, open_image, roundtrip
from rdjpeg.registry import get_backend, get_metric

PILLOW_QUALITIES = list(range(5, 101, 5))
ENCODER_QUALITIES = sorted({*range(5, 101, 3), *range(90, 101)})  # finer at the top, where curves bend
Q = np.arange(1, 101)


def calibration_images(shared: str) -> list[str]:
    """30 training images: every 10th of BSD200 and of Urban100 (their first 3 rows and 5 columns dropped, in
    :func:`curve`)."""
    return (
        sorted(glob.glob(f"{shared}/data/train/bsd200/*.png"))[::10]
        + sorted(glob.glob(f"{shared}/data/train/urban100/*.png"))[::10]
    )


def curve(path: str, backend: str, qualities: list[int], gray: bool) -> dict:
    """SSIMULACRA2 and bpp of one image at each quality (unoptimized files: what the runtime measures)."""
    torch.set_num_threads(1)
    # BSD200's photos were JPEGs once: on their old 8×8 grid Pillow at q95 nearly reproduces them (SSIMULACRA2 84 at
    # q90, 94 at q95). Dropping 3 rows and 5 columns moves the grid, so that no encoder meets old block edges.
    pixels = np.asarray(open_image(path).convert("L" if gray else "RGB"))[3:, 5:]
    x, encoder, metric = image_to_tensor(pixels), get_backend(backend), get_metric("ssimulacra2")
    out = {"ssimulacra2": [], "bpp": []}
    for q in qualities:
        _, y, bpp = roundtrip(encoder.encode, pixels, q)
        with torch.inference_mode():
            out["ssimulacra2"].append(round(float(metric.score(x, y)[0]), 3))
        out["bpp"].append(round(bpp, 5))
    return out


def match(target: np.ndarray, encoder_scores) -> np.ndarray:
    """The (fractional) encoder quality whose score equals each target, on the monotone hull of the curve, clamped
    to the qualities measured (no extrapolation)."""
    scores = np.maximum.accumulate(np.asarray(encoder_scores)) + 1e-6 * np.arange(len(encoder_scores))
    return np.interp(target, scores, ENCODER_QUALITIES)


def fit_gray(pillow: list[dict], encoder: list[dict]) -> dict:
    mean_target = np.interp(Q, PILLOW_QUALITIES, np.mean([c["ssimulacra2"] for c in pillow], 0))
    return {"base": np.clip(np.round(match(mean_target, np.mean([c["ssimulacra2"] for c in encoder], 0))), 1,
                            100).astype(int).tolist()}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("RDJPEG_SHARED", "../shared"))
    parser.add_argument("--out", default="core/weights/quality-map.json")
    parser.add_argument("--curves", default="runs/quality-curves.json", help="per-image curves (cached)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    images = calibration_images(args.shared)
    if os.path.exists(args.curves):
        with open(args.curves) as f:
            curves = json.load(f)
    else:
        curves = {}
        with ProcessPoolExecutor(args.jobs) as pool:
            for kind, backend in (("gray", "mozjpeg"),):
                gray, n = kind == "gray", len(images)
                curves[kind] = {
                    "pillow": list(pool.map(curve, images, ["pillow"] * n, [PILLOW_QUALITIES] * n, [gray] * n)),
                    backend: list(pool.map(curve, images, [backend] * n, [ENCODER_QUALITIES] * n, [gray] * n)),
                }
        with open(args.curves, "w") as f:
            json.dump(curves, f)
    result = {
        "command": f".venv/bin/python benchmarks/calibrate_quality.py --out {args.out}",
        "date": datetime.date.today().isoformat(),
        "images": [os.path.basename(p) for p in images],
        "metric": "ssimulacra2",
        "gray": {"backend": "mozjpeg", **fit_gray(curves["gray"]["pillow"], curves["gray"]["mozjpeg"])},
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()

"""Fit the default pipeline's quality map for gray images on training images, so that ``quality=q`` keeps the look of
Pillow's JPEG at q (mean SSIMULACRA2), never Kodak: jpegli (:data:`GRAY_BACKEND`; mozjpeg until jpegli measured
smaller on both judges, ``benchmarks/gray_encoders.py``), on the images' luminance, one quality per q (the mean
curve), and the mean curve itself (jpegli's mean SSIMULACRA2 at each quality 1..100: target mode's first guess on
gray). RGB images take their quality from the look predictor instead (``rdjpeg train look``; issue 27); until then
this script also fitted a per-q line in the image's complexity for jpegli (commit 936b4d6 holds that code).

    .venv/bin/python benchmarks/calibrate_quality.py --jobs 1 --curves runs/quality-curves-jpegli.json \
        --out core/weights/quality-map.json
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
from rdjpeg.jpeg import jpegli
from rdjpeg.registry import get_backend, get_metric

PILLOW_QUALITIES = list(range(5, 101, 5))
ENCODER_QUALITIES = sorted({*range(5, 101, 3), *range(90, 101)})  # finer at the top, where curves bend
GRAY_BACKEND = "jpegli"
Q = np.arange(1, 101)


def calibration_images(shared: str) -> list[str]:
    """30 training images: every 10th of BSD200 and of Urban100 (their first 3 rows and 5 columns dropped, in
    :func:`curve`)."""
    return (
        sorted(glob.glob(f"{shared}/data/train/bsd200/*.png"))[::10]
        + sorted(glob.glob(f"{shared}/data/train/urban100/*.png"))[::10]
    )


def writer(backend: str):
    """``(pixels, q) -> bytes``: the backend's encode; for "jpegli", :func:`rdjpeg.jpeg.jpegli.encode` (gray too:
    the registry's jpegli backend is RGB only), its baseline file, whose pixels are the progressive one's."""
    if backend == "jpegli":
        return jpegli.encode
    return get_backend(backend).encode


def curve(path: str, backend: str, qualities: list[int], gray: bool) -> dict:
    """SSIMULACRA2 and bpp of one image at each quality (unoptimized files: what the runtime measures)."""
    torch.set_num_threads(1)
    # BSD200's photos were JPEGs once: on their old 8×8 grid Pillow at q95 nearly reproduces them (SSIMULACRA2 84 at
    # q90, 94 at q95). Dropping 3 rows and 5 columns moves the grid, so that no encoder meets old block edges.
    pixels = np.asarray(open_image(path).convert("L" if gray else "RGB"))[3:, 5:]
    x, metric = image_to_tensor(pixels), get_metric("ssimulacra2")
    out = {"ssimulacra2": [], "bpp": []}
    for q in qualities:
        _, y, bpp = roundtrip(writer(backend), pixels, q)
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
    """``base``: per Pillow quality 1..100, the encoder's quality of the same mean SSIMULACRA2; ``curve``: the
    encoder's mean SSIMULACRA2 at each of its qualities 1..100 (monotone, flat below the lowest quality measured)."""
    mean_target = np.interp(Q, PILLOW_QUALITIES, np.mean([c["ssimulacra2"] for c in pillow], 0))
    mean_encoder = np.mean([c["ssimulacra2"] for c in encoder], 0)
    mean_curve = np.interp(Q, ENCODER_QUALITIES, np.maximum.accumulate(mean_encoder))
    return {
        "base": np.clip(np.round(match(mean_target, mean_encoder)), 1, 100).astype(int).tolist(),
        "curve": np.round(mean_curve, 3).tolist(),
    }


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
            for kind, backend in (("gray", GRAY_BACKEND),):
                gray, n = kind == "gray", len(images)
                curves[kind] = {
                    "pillow": list(pool.map(curve, images, ["pillow"] * n, [PILLOW_QUALITIES] * n, [gray] * n)),
                    backend: list(pool.map(curve, images, [backend] * n, [ENCODER_QUALITIES] * n, [gray] * n)),
                }
        with open(args.curves, "w") as f:
            json.dump(curves, f)
    result = {
        "command": f".venv/bin/python benchmarks/calibrate_quality.py --jobs {args.jobs} --curves {args.curves} "
        f"--out {args.out}",
        "date": datetime.date.today().isoformat(),
        "images": [os.path.basename(p) for p in images],
        "metric": "ssimulacra2",
        "gray": {"backend": GRAY_BACKEND, **fit_gray(curves["gray"]["pillow"], curves["gray"][GRAY_BACKEND])},
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()

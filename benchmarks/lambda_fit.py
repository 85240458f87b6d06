"""Fit and validate the fast λ estimator against the exact one (real RD slopes).

Fit: random crops of the *training* images at random qualities. Exact λ from ``estimate_lambda`` (five real
encodes). Fit ``log λ = a + b·log D(q) + c·log R(q)`` per metric by least squares, where D(q) is the metric's loss of
the simulated (= real) decode and R(q) the rate network's bpp. Validation: the 24 Kodak images at qualities 10..90,
never used in the fit: Spearman correlation, and mean and median |log(λ̂/λ)|.

Usage:
    python benchmarks/lambda_fit.py --train ../shared/data/train/bsd200 ../shared/data/train/urban100 \
        --kodak "../shared/data/kodak/*.png"
"""

from __future__ import annotations

import argparse
import glob
import json
import sys

import numpy as np
import torch
from PIL import Image

from rdjpeg.learned.models.lagrangian import estimate_lambda, lambda_features
from rdjpeg.learned.train.data import ImagePool

METRICS = ("mse", "msssim", "lpips")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (no ties expected in continuous measurements)."""
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def collect(images: list[torch.Tensor], qualities: list[int], metric: str) -> tuple[np.ndarray, np.ndarray]:
    feats, exact = [], []
    for x, q in zip(images, qualities, strict=True):
        with torch.inference_mode():
            feats.append(lambda_features(x, torch.tensor([q]), metric).numpy())
        exact.append(estimate_lambda(x, q, metric).item())
    return np.concatenate(feats), np.asarray(exact)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", nargs="+", required=True)
    parser.add_argument("--kodak", required=True)
    parser.add_argument("--samples", type=int, default=160)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    pool = ImagePool(args.train)
    crops, crop_q = [], []
    for _ in range(args.samples):
        side = int(rng.choice([128, 192, 256]))
        c = ImagePool.crop(rng, pool.train, side, side)
        crops.append(torch.from_numpy(c).permute(2, 0, 1)[None].float() / 255)
        crop_q.append(int(rng.integers(10, 91)))
    kodak = [torch.from_numpy(np.asarray(Image.open(p).convert("RGB")).copy()).permute(2, 0, 1)[None].float() / 255
             for p in sorted(glob.glob(args.kodak))]  # fmt: skip
    kodak_q = list(range(10, 91, 10))
    report = {}
    for metric in METRICS:
        f, lam = collect(crops, crop_q, metric)
        ok = lam > 0
        design = np.concatenate([np.ones((ok.sum(), 1)), np.log(f[ok])], 1)
        coef = np.linalg.lstsq(design, np.log(lam[ok]), rcond=None)[0]
        images = [x for x in kodak for _ in kodak_q]
        fk, lk = collect(images, kodak_q * len(kodak), metric)
        pred = np.exp(np.concatenate([np.ones((len(fk), 1)), np.log(fk)], 1) @ coef)
        err = np.abs(np.log(pred / lk))
        report[metric] = {"coefficients": coef.tolist(), "spearman": spearman(pred, lk),
                          "mean_abs_log_ratio": float(err.mean()), "median_abs_log_ratio": float(np.median(err)),
                          "fit_samples": int(ok.sum()), "kodak_samples": len(lk)}  # fmt: skip
        print(metric, json.dumps(report[metric]), flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

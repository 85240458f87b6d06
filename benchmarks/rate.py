"""Rate estimation accuracy on images the network never saw (Kodak), against real Pillow file sizes.

For whole images and for random 128² and 256² crops, at each quality: mean and max |relative bpp error| of

* the rate network (``rdjpeg.estimate_bits``, default and optimized Huffman tables);
* the nonzero-coefficient count and the ρ-domain proxy Σ log2(1 + |c/q|), each as ``w·proxy + b`` with w and b
  fitted by least squares per quality *on the evaluation set itself* (an oracle fit: their best case);

and the Spearman rank correlation over all images × qualities.

Usage:
    python benchmarks/rate.py --images "$RDJPEG_KODAK/*.png" --json rate.json
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import sys

import numpy as np
import torch
from _common import spearman
from PIL import Image

from rdjpeg.jpeg.simulator import simulate_jpeg
from rdjpeg.models.rate import estimate_bits, nonzero_count, rho_proxy

QUALITIES = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95]


def real_bits(pixels: np.ndarray, quality: int, optimize: bool) -> int:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality, optimize=optimize)
    return 8 * buf.tell()


def samples(paths: list[str], crop: int | None, per_image: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for path in paths:
        a = np.asarray(Image.open(path).convert("RGB"))
        if crop is None:
            out.append(a)
            continue
        for _ in range(per_image):
            top, left = rng.integers(a.shape[0] - crop + 1), rng.integers(a.shape[1] - crop + 1)
            out.append(np.ascontiguousarray(a[top : top + crop, left : left + crop]))
    return out


def measure(images: list[np.ndarray], qualities: list[int]) -> dict:
    rows = []  # (quality, real_default, real_optimize, net_default, net_optimize, nonzero, rho, pixels)
    for a in images:
        x = torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float().div(255).expand(len(qualities), -1, -1, -1)
        with torch.inference_mode():
            sim = simulate_jpeg(x, torch.tensor(qualities), decode=False)
            net_default = estimate_bits(sim).numpy()
            net_optimize = estimate_bits(sim, optimize=True).numpy()
            nz, rho = nonzero_count(sim).numpy(), rho_proxy(sim).numpy()
        for j, q in enumerate(qualities):
            rows.append((q, real_bits(a, q, False), real_bits(a, q, True), net_default[j], net_optimize[j], nz[j],
                         rho[j], a.shape[0] * a.shape[1]))  # fmt: skip
    r = np.array(rows, dtype=np.float64)
    result = {"per_quality": [], "spearman": {}}
    predictions = {"network": (r[:, 3], r[:, 4])}
    for name, col in (("nonzero", 5), ("rho", 6)):
        fitted = [np.zeros(len(r)), np.zeros(len(r))]
        for q in qualities:
            sel = r[:, 0] == q
            design = np.stack([r[sel, col], np.ones(sel.sum())], 1)
            for head, target in ((0, 1), (1, 2)):
                coef = np.linalg.lstsq(design, r[sel, target], rcond=None)[0]
                fitted[head][sel] = design @ coef
        predictions[name] = tuple(fitted)
    for q in qualities:
        sel = r[:, 0] == q
        entry = {"quality": q, "mean_bpp": float(np.mean(r[sel, 1] / r[sel, 7]))}
        for name, (pd, po) in predictions.items():
            for head, pred, target in (("default", pd, r[:, 1]), ("optimize", po, r[:, 2])):
                err = np.abs(pred[sel] / target[sel] - 1)
                entry[f"{name}_{head}_mean"] = float(err.mean())
                entry[f"{name}_{head}_max"] = float(err.max())
        result["per_quality"].append(entry)
    for name, (pd, po) in predictions.items():
        result["spearman"][name] = {"default": spearman(pd, r[:, 1]), "optimize": spearman(po, r[:, 2])}
    return result


def markdown(title: str, result: dict) -> str:
    lines = [f"**{title}** (mean / max |relative error|)", "",
             "| quality | bpp | network | network, optimize=True | ρ-proxy (oracle fit) | nonzero count (oracle fit) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for e in result["per_quality"]:
        cells = [f"{100 * e[k + '_mean']:.2f} % / {100 * e[k + '_max']:.1f} %"
                 for k in ("network_default", "network_optimize", "rho_default", "nonzero_default")]  # fmt: skip
        lines.append(f"| {e['quality']} | {e['mean_bpp']:.3f} | " + " | ".join(cells) + " |")
    s = result["spearman"]
    lines += ["", "Spearman over images × qualities: " + ", ".join(
        f"{k} {v['default']:.5f} (optimize {v['optimize']:.5f})" for k, v in s.items())]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True)
    parser.add_argument("--qualities", default=",".join(map(str, QUALITIES)))
    parser.add_argument("--crops", default="128,256", help="crop sizes (4 random crops per image)")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    paths = sorted(glob.glob(args.images))
    qualities = [int(q) for q in args.qualities.split(",")]
    results = {"whole images": measure(samples(paths, None, 1), qualities)}
    for c in filter(None, args.crops.split(",")):
        results[f"{c}² crops"] = measure(samples(paths, int(c), 4), qualities)
    for title, result in results.items():
        print(markdown(f"{len(paths)} images, {title}", result) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Simulator fidelity: the simulator's forward pass against Pillow's real encode→decode, on a folder of images.

For every image, quality and subsampling it reports the PSNR of the simulated decode against the real decode, the
share of bit-identical decoded images, and the share of quantized DCT coefficients identical to those stored in the
real file (read with ``jpeglib.read_dct``).  kornia's ``jpeg_codec_differentiable`` (always 4:2:0) runs side by side.

Usage:
    python benchmarks/fidelity.py --images "$RDJPEG_KODAK/*.png" --json fidelity.json
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import math
import os
import sys
import tempfile
import time

import jpeglib
import kornia
import numpy as np
import torch
from PIL import Image

from rdjpeg.jpeg.tables import PILLOW_SUBSAMPLING, SUBSAMPLINGS
from rdjpeg.learned.simulator import simulate_jpeg

QUALITIES = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95]


def psnr_from_mse(mse: float) -> float:
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def real_codec(rgb: np.ndarray, quality: int, subsampling: str, path: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """Pillow encode → file → (decoded pixels, coefficients of each component as stored in the file)."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, subsampling=PILLOW_SUBSAMPLING[subsampling])
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    dct = jpeglib.read_dct(path)
    return np.asarray(Image.open(buf)), [dct.Y, dct.Cb, dct.Cr]


def measure(paths: list[str], qualities: list[int], subsamplings: list[str]) -> dict:
    rows = {(s, q): {"sq_err": [], "exact_images": 0, "coef_same": 0, "coef_total": 0, "kornia_sq_err": []}
            for s in subsamplings for q in qualities}  # fmt: skip
    tmp = os.path.join(tempfile.mkdtemp(), "real.jpg")
    quality = torch.tensor(qualities)
    for i, path in enumerate(paths):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float().div(255).expand(len(qualities), -1, -1, -1)
        with torch.inference_mode():
            kornia_out = kornia.enhance.jpeg_codec_differentiable(x, quality.float())
            kornia_out = (kornia_out * 255).round().clamp(0, 255).permute(0, 2, 3, 1).numpy()
        for s in subsamplings:
            with torch.inference_mode():
                sim = simulate_jpeg(x, quality, s)
            decoded = (sim.decoded * 255).round().permute(0, 2, 3, 1).to(torch.uint8).numpy()
            for j, q in enumerate(qualities):
                real, coefs = real_codec(rgb, q, s, tmp)
                row = rows[(s, q)]
                err = np.mean((decoded[j].astype(np.float64) - real) ** 2)
                row["sq_err"].append(err)
                row["exact_images"] += int(err == 0)
                for mine, theirs in zip(sim.coefficients, coefs, strict=True):
                    row["coef_same"] += int((mine[j].numpy() == theirs).sum())
                    row["coef_total"] += theirs.size
                if s == "4:2:0":
                    row["kornia_sq_err"].append(np.mean((kornia_out[j] - real) ** 2))
        print(f"[{i + 1}/{len(paths)}] {os.path.basename(path)}", file=sys.stderr, flush=True)
    out = []
    for (s, q), row in rows.items():
        psnrs = [psnr_from_mse(e) for e in row["sq_err"]]
        out.append({
            "subsampling": s,
            "quality": q,
            "psnr_mean_mse": psnr_from_mse(float(np.mean(row["sq_err"]))),
            "psnr_min": min(psnrs),
            "exact_images": row["exact_images"] / len(paths),
            "identical_coefficients": row["coef_same"] / row["coef_total"],
            "kornia_psnr_mean": float(np.mean([psnr_from_mse(e) for e in row["kornia_sq_err"]]))
            if row["kornia_sq_err"] else None,
        })  # fmt: skip
    return {"images": len(paths), "rows": out}


def markdown(result: dict) -> str:
    fmt = lambda v: "∞" if v == math.inf else f"{v:.2f}"  # noqa: E731
    lines = [
        "| subsampling | quality | PSNR vs real (dB, from mean MSE) | min PSNR (dB) | bit-exact images | identical "
        "coefficients | kornia PSNR vs real (dB, mean) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        k = "—" if r["kornia_psnr_mean"] is None else fmt(r["kornia_psnr_mean"])
        lines.append(
            f"| {r['subsampling']} | {r['quality']} | {fmt(r['psnr_mean_mse'])} | {fmt(r['psnr_min'])} | "
            f"{100 * r['exact_images']:.1f} % | {100 * r['identical_coefficients']:.4f} % | {k} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", default=os.path.join(os.environ.get("RDJPEG_KODAK", "."), "*.png"))
    parser.add_argument("--qualities", default=",".join(map(str, QUALITIES)))
    parser.add_argument("--subsamplings", default=",".join(SUBSAMPLINGS))
    parser.add_argument("--json", help="write the full result here")
    args = parser.parse_args(argv)
    paths = sorted(glob.glob(args.images))
    if not paths:
        parser.error(f"no images match {args.images!r}")
    start = time.perf_counter()
    result = measure(paths, [int(q) for q in args.qualities.split(",")], args.subsamplings.split(","))
    result["seconds"] = round(time.perf_counter() - start, 1)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

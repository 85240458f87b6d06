"""Tune and measure adaptive DCT-domain masking by real BD-rate (Pillow encoder and decoder, 4:2:0).

Each setting ``lambda:scale:iterations:margin`` (lambda "fast" = rdjpeg.fast_lambda, "exact" = estimate_lambda) is
applied to every image at every quality; the score is the mean per-image BD-rate (PSNR) against the same encoder on
the unedited image (``--backend``, default plain Pillow; e.g. ``mozjpeg:table=flat``: masking with its tables).
Tune on training images only (the defaults below pick 12 of them); report on Kodak with the chosen setting.

Usage:
    python benchmarks/masking.py --images train --settings fast:1:3:0.05 fast:1.5:3:0.05 exact:1.5:3:0.05
    python benchmarks/masking.py --images "$RDJPEG_KODAK/*.png" --settings fast:1:3:0.05 --json masking.json
    python benchmarks/masking.py --backend mozjpeg:table=flat --settings fast:1:4:0.1 fast:0.5:4:0.1
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import time

import numpy as np
import torch
from PIL import Image

from rdjpeg.images import image_to_tensor, tensor_to_pixels
from rdjpeg.learned.evaluate import Codec
from rdjpeg.learned.models.lagrangian import estimate_lambda
from rdjpeg.learned.models.masking import adaptive_masking
from rdjpeg.learned.report import bd_rate
from rdjpeg.registry import get_backend

QUALITIES = (20, 35, 50, 65, 80)


def training_images(shared: str) -> list[str]:
    root = os.path.join(shared, "data", "train")
    return sorted(glob.glob(f"{root}/bsd200/*"))[5::25] + sorted(glob.glob(f"{root}/urban100/*"))[5::25]


def rd_point(encode, x: torch.Tensor, q: int, edited: torch.Tensor) -> tuple[float, float]:
    """(bpp, PSNR) of the encoder's file of ``edited``, distortion against ``x``."""
    data = encode(tensor_to_pixels(edited), q)
    mse = (image_to_tensor(np.asarray(Image.open(io.BytesIO(data)))) - x).square().mean().item()
    return 8 * len(data) / (x.shape[-1] * x.shape[-2]), -10 * np.log10(mse)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="train", help='"train" (12 training images) or a glob')
    parser.add_argument("--settings", nargs="+", default=["fast:1:3:0.05"])
    parser.add_argument("--backend", default="pillow", help="encoder spec, e.g. pillow, mozjpeg:table=flat")
    parser.add_argument("--shared", default=os.environ.get("RDJPEG_SHARED", "../shared"))
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    paths = training_images(args.shared) if args.images == "train" else sorted(glob.glob(args.images))
    images = {p: image_to_tensor(np.asarray(Image.open(p).convert("RGB"))) for p in paths}
    codec = Codec.parse(args.backend)
    backend, encode = get_backend(codec.name), codec.encoder()
    tables = {q: None if backend.name == "pillow" else torch.as_tensor(backend.tables(q, **codec.options))[None]
              for q in QUALITIES}  # fmt: skip
    results = []
    for setting in args.settings:
        kind, scale, iterations, margin = setting.split(":")
        start, per_image = time.time(), []
        for x in images.values():
            plain = [rd_point(encode, x, q, x) for q in QUALITIES]
            edited = []
            for q in QUALITIES:
                lam = estimate_lambda(x, q, "mse") if kind == "exact" else None
                y = adaptive_masking(x, q, lam=lam, tables=tables[q], scale=float(scale), iterations=int(iterations),
                                     margin=float(margin))  # fmt: skip
                edited.append(rd_point(encode, x, q, y))
            per_image.append(bd_rate(*zip(*plain, strict=True), *zip(*edited, strict=True)))
        seconds = (time.time() - start) / (len(images) * len(QUALITIES))
        results.append({"setting": setting, "bd_rate_psnr": float(np.mean(per_image)), "per_image": per_image,
                        "seconds_per_encode": seconds})  # fmt: skip
        print(f"{setting}: {np.mean(per_image):+.2f} % PSNR BD-rate ({len(images)} images, {seconds:.2f} s per "
              "image and quality)", flush=True)  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            summary = {"images": paths, "backend": args.backend, "qualities": QUALITIES, "results": results}
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()

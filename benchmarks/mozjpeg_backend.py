"""The mozjpeg backend (mozjpeg 5 through pyvips, in memory) beside mozjpeg 4.0.3's cjpeg defaults (jpeglib, through a
temporary file) and Pillow, in one run: decoded pixels, file sizes and encode time.

    .venv/bin/python benchmarks/mozjpeg_backend.py --images "../shared/data/kodak/*.png" --repeat 5
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import statistics
import tempfile
import time

import numpy as np
import torch
from PIL import Image

from rdjpeg.jpeg.backends import pillow_jpeg_bytes
from rdjpeg.registry import get_backend


def mozjpeg4(pixels: np.ndarray, quality: int, path: str) -> bytes:
    import jpeglib

    with jpeglib.version("mozjpeg403"):
        jpeglib.from_spatial(np.ascontiguousarray(pixels)).write_spatial(path, qt=quality, base_quant_tbl_idx=3)
    with open(path, "rb") as f:
        return f.read()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True)
    parser.add_argument("--qualities", default="20,30,50,75,90,95")
    parser.add_argument("--repeat", type=int, default=5, help="timed encodes per image and codec (median)")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    os.environ.setdefault("VIPS_CONCURRENCY", "2")
    mozjpeg = get_backend("mozjpeg")
    qualities = [int(q) for q in args.qualities.split(",")]
    paths = sorted(glob.glob(args.images))
    same, ratio = 0, {q: [] for q in qualities}
    times: dict[str, list[float]] = {"pillow": [], "pillow optimize+progressive": [], "mozjpeg 5 (pyvips)": [],
                                     "mozjpeg 4.0.3 (jpeglib, temp file)": []}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        temp = os.path.join(tmp, "m.jpg")
        codecs = {
            "pillow": lambda a, q: pillow_jpeg_bytes(Image.fromarray(a), quality=q),
            "pillow optimize+progressive": lambda a, q: pillow_jpeg_bytes(Image.fromarray(a), quality=q,
                                                                          optimize=True, progressive=True),
            "mozjpeg 5 (pyvips)": lambda a, q: mozjpeg.encode(a, q),
            "mozjpeg 4.0.3 (jpeglib, temp file)": lambda a, q: mozjpeg4(a, q, temp),
        }  # fmt: skip
        for path in paths:
            a = np.asarray(Image.open(path).convert("RGB"))
            for q in qualities:
                new, old = mozjpeg.encode(a, q), mozjpeg4(a, q, temp)
                decoded = [np.asarray(Image.open(io.BytesIO(d))) for d in (new, old)]
                same += np.array_equal(*decoded)
                ratio[q].append(len(new) / len(old))
            for name, encode in codecs.items():
                runs = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    encode(a, 75)
                    runs.append(time.perf_counter() - t)
                times[name].append(statistics.median(runs))
    print(f"{len(paths)} images × {len(qualities)} qualities: decoded pixels identical in {same} of "
          f"{len(paths) * len(qualities)}")  # fmt: skip
    print("| quality | mozjpeg 5 bytes / mozjpeg 4.0.3 bytes (mean, min, max) |\n|---|---|")
    for q in qualities:
        print(f"| {q} | {np.mean(ratio[q]):.4f} ({min(ratio[q]):.4f}, {max(ratio[q]):.4f}) |")
    print("\n| encoder (q75, 2 threads) | median ms per image |\n|---|---|")
    for name, values in times.items():
        print(f"| {name} | {1000 * statistics.median(values):.1f} |")


if __name__ == "__main__":
    main()

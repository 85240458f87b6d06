"""Host-plugin speed: ``img.save(…, "RDJPEG")`` against ``img.save(…, "JPEG")`` on Kodak (median per-image time
ratio, target ≤ 8×), and ``rdjpeg compress --jobs N`` throughput on a folder.

Usage:
    python benchmarks/plugin_speed.py --images "$RDJPEG_KODAK/*.png" [--metric mse] [--copies 2]
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

import rdjpeg_plugins  # noqa: F401


def timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True)
    parser.add_argument("--metric", help="default: none (the default pipeline)")
    parser.add_argument("--copies", type=int, default=2, help="copies of the image set for compress (48 from 24)")
    parser.add_argument("--quality", type=int, default=75)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    paths = sorted(glob.glob(args.images))
    images = [Image.open(p).convert("RGB") for p in paths]
    metric = {"metric": args.metric} if args.metric else {}
    images[0].save(io.BytesIO(), "RDJPEG", quality=args.quality, **metric)  # load models once
    ratios, ours, plain = [], [], []
    for im in images:
        t_plain = timed(lambda im=im: im.save(io.BytesIO(), "JPEG", quality=args.quality))
        t_ours = timed(lambda im=im: im.save(io.BytesIO(), "RDJPEG", quality=args.quality, **metric), 1)
        ratios.append(t_ours / t_plain)
        ours.append(t_ours)
        plain.append(t_plain)
    print(
        f"{len(images)} images, quality {args.quality}, metric {args.metric or 'none (default)'}: "
        f"RDJPEG {1000 * np.median(ours):.0f} ms, "
        f"JPEG {1000 * np.median(plain):.1f} ms per image (medians); median ratio {np.median(ratios):.1f}×"
    )
    with tempfile.TemporaryDirectory() as out:
        inputs = os.path.join(out, "in")
        for copy in range(args.copies):
            os.makedirs(os.path.join(inputs, str(copy)))
            for path in paths:
                shutil.copy(path, os.path.join(inputs, str(copy)))
        count = args.copies * len(paths)
        for jobs in (1, args.jobs):
            folder = os.path.join(out, f"j{jobs}")
            cmd = [sys.executable, "-m", "rdjpeg", "compress", inputs, "-o", folder, "-q", str(args.quality),
                   *(["--metric", args.metric] if args.metric else []), "--jobs", str(jobs), "--quiet"]  # fmt: skip
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            seconds = time.perf_counter() - start
            print(f"rdjpeg compress --jobs {jobs}: {count} images in {seconds:.1f} s "
                  f"({count / seconds:.2f} images/s, including start-up)")  # fmt: skip


if __name__ == "__main__":
    main()

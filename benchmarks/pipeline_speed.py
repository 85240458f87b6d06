"""Speed and memory of the pipelines, side by side with the peers in one run (issue 17, item 4).

* ``--small IMAGE``: median save time of a 768×512 image (Kodak-size): rdjpeg's default through Pillow
  (``img.save(buf, "RDJPEG", quality=q)``), mozjpeg 5's own save (libvips ``jpegsave_buffer``, cjpeg's defaults),
  jpegli (optimized Huffman), Pillow's JPEG, and the other pipelines; rounds interleaved, so that drift hits all.
* ``--large``: every pipeline on a 24-megapixel photo-like image, each in a fresh interpreter: seconds and peak RSS
  (which includes torch's own ~0.7 GB).

    .venv/bin/python benchmarks/pipeline_speed.py --small ../shared/data/kodak/kodim05.png --large
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time

PIPELINES = {
    "default": {},
    "mse": {"metric": "mse"},
    "msssim": {"metric": "msssim"},
    "lpips": {"metric": "lpips"},
    "mse, mozjpeg": {"metric": "mse", "backend": "mozjpeg"},
}


def small(path: str, quality: int, rounds: int) -> dict:
    import numpy as np
    import pyvips
    from PIL import Image

    import rdjpeg_plugins  # noqa: F401
    from rdjpeg.plugins import get_backend

    im = Image.open(path).convert("RGB")
    pixels = np.asarray(im)

    def vips():
        image = pyvips.Image.new_from_memory(pixels.data, im.width, im.height, 3, "uchar")
        return image.jpegsave_buffer(Q=quality, optimize_coding=True, trellis_quant=True, overshoot_deringing=True,
                                     interlace=True, optimize_scans=True, keep="none")  # fmt: skip

    def save(**options):
        return lambda: im.save(io.BytesIO(), "RDJPEG", quality=quality, **options)

    jobs = {
        "rdjpeg default (Pillow plugin)": save(),
        "mozjpeg 5 (libvips)": vips,
        "jpegli, optimized": lambda: get_backend("jpegli").encode(pixels, quality, optimize=True),
        "Pillow JPEG": lambda: im.save(io.BytesIO(), "JPEG", quality=quality),
        **{f"rdjpeg {name}": save(**options) for name, options in PIPELINES.items() if options},
    }
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for job in jobs.values():  # warm-up: weights, tables, libraries
        job()
    for _ in range(rounds):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


LARGE_SCRIPT = """
import json, resource, sys, time
import numpy as np
from PIL import Image
import rdjpeg
rng = np.random.default_rng(0)
base = rng.integers(0, 256, (500, 750, 3), dtype=np.uint8)
image = Image.fromarray(base).resize((6000, 4000), Image.BICUBIC)
options = json.loads(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
data = rdjpeg.encode(image, 75, **options)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak / 1024, "rss_before_mb": before / 1024,
                  "bytes": len(data)}))
"""


def large() -> dict:
    out = {}
    for name, options in PIPELINES.items():
        run = subprocess.run([sys.executable, "-c", LARGE_SCRIPT, json.dumps(options)], capture_output=True,
                             text=True, check=True)  # fmt: skip
        out[name] = json.loads(run.stdout.strip().splitlines()[-1])
        print(name, out[name], flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", metavar="IMAGE")
    parser.add_argument("--quality", type=int, default=75)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--large", action="store_true")
    args = parser.parse_args(argv)
    if args.small:
        for name, ms in small(args.small, args.quality, args.rounds).items():
            print(f"{name:34s} {ms:8.1f} ms", flush=True)
    if args.large:
        large()


if __name__ == "__main__":
    main()

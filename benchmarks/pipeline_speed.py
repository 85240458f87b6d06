"""Speed and memory of every pipeline on a 24-megapixel photo-like image, each in a fresh interpreter: seconds and
peak RSS (the learned pipelines' includes torch's own ~0.7 GB). The default's small-image figures, side by side with
the peers, are ``benchmarks/default_speed.py``'s.

    .venv/bin/python benchmarks/pipeline_speed.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

PIPELINES = {
    "default": {},
    "mse": {"metric": "mse"},
    "msssim": {"metric": "msssim"},
    "lpips": {"metric": "lpips"},
    "mse, mozjpeg": {"metric": "mse", "backend": "mozjpeg"},
}


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
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    large()


if __name__ == "__main__":
    main()

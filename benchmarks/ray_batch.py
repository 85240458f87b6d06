"""Images per second: `rdjpeg compress --jobs 1|2` against the Ray Data path with 1|2 workers, on one machine.

    .venv/bin/python benchmarks/ray_batch.py --images "../shared/data/kodak/*.png" --copies 2 --json runs/ray.json

Each setting compresses the same folder (the images, ``--copies`` times) into a fresh folder with the default (MSE)
pipeline at quality 75. "with start-up" is the wall time of the whole command (``rdjpeg compress`` as a process; Ray
from ``ray.init`` on, in this process, which had already imported rdjpeg); "without" divides the images by the summed
per-image encode time over the workers (what a long job approaches).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def run_compress(folder: str, out: str, jobs: int) -> tuple[float, list[float]]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "rdjpeg", "compress", folder, "-o", out, "-q", "75", "--jobs",
                           str(jobs)], capture_output=True, text=True, check=True)  # fmt: skip
    seconds = [float(s) for s in re.findall(r", ([0-9.]+) s$", done.stdout, re.M)]
    return time.perf_counter() - start, seconds


def run_ray(folder: str, out: str, workers: int) -> tuple[float, list[float]]:
    import ray

    from rdjpeg.distributed import compress_on_ray

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rows = compress_on_ray(folder, out, quality=75, workers=workers)
    finally:
        ray.shutdown()
    return time.perf_counter() - start, [row["seconds"] for row in rows]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="../shared/data/kodak/*.png")
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="rdjpeg-ray-bench-")
    folder = os.path.join(work, "in")
    os.makedirs(folder)
    for copy in range(args.copies):
        for path in sorted(glob.glob(args.images)):
            shutil.copy(path, os.path.join(folder, f"{copy}-{os.path.basename(path)}"))
    n = len(os.listdir(folder))
    results = []
    for name, runner, workers in (("rdjpeg compress --jobs 1", run_compress, 1),
                                  ("rdjpeg compress --jobs 2", run_compress, 2),
                                  ("Ray Data, 1 worker", run_ray, 1), ("Ray Data, 2 workers", run_ray, 2)):  # fmt: skip
        out = os.path.join(work, f"out-{len(results)}")
        wall, seconds = runner(folder, out, workers)
        results.append({"setting": name, "images": n, "wall_s": round(wall, 1),
                        "images_per_s_with_startup": round(n / wall, 2),
                        "images_per_s_without_startup": round(n / (sum(seconds) / workers), 2)})  # fmt: skip
        print(results[-1], flush=True)
    shutil.rmtree(work)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

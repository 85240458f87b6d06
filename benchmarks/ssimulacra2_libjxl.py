"""rdjpeg's two SSIMULACRA2s (``rdjpeg.scores``, numpy, what targets measure with;
``rdjpeg.learned.metrics.ssimulacra2``, the torch port) against libjxl's own binary (``--reference``: ``ssimulacra2``
version 2.1, built outside this project), on JPEGs of a set of photos, with the time each takes per pair.

Originals are given to the binary as PNGs re-saved without colour chunks (the pixels Pillow decodes: a PNG with gAMA
and cHRM but no sRGB chunk is read by libjxl in that colour space, and then differs from what Pillow shows).

    .venv/bin/python benchmarks/ssimulacra2_libjxl.py --images "../shared/data/kodak/*.png" \
        --reference /path/to/ssimulacra2
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import subprocess
import tempfile
import time

import numpy as np
import torch
from PIL import Image

from rdjpeg.images import image_to_tensor
from rdjpeg.learned.metrics.ssimulacra2 import ssimulacra2 as torch_ssimulacra2
from rdjpeg.scores import SSIMULACRA2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--qualities", default="5,15,25,35,45,55,65,75,85,95")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    qualities = [int(q) for q in args.qualities.split(",")]
    rows, seconds = [], {"libjxl": 0.0, "numpy (original's half)": 0.0, "numpy (per score)": 0.0, "torch": 0.0}
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(glob.glob(args.images)):
            a = np.asarray(Image.open(path).convert("RGB"))
            Image.fromarray(a).save(os.path.join(tmp, "a.png"))
            start = time.perf_counter()
            score = SSIMULACRA2(a)
            seconds["numpy (original's half)"] += time.perf_counter() - start
            for q in qualities:
                buf = io.BytesIO()
                Image.fromarray(a).save(buf, "JPEG", quality=q)
                b = np.asarray(Image.open(buf).convert("RGB"))
                Image.fromarray(b).save(os.path.join(tmp, "b.png"))
                start = time.perf_counter()
                done = subprocess.run([args.reference, os.path.join(tmp, "a.png"), os.path.join(tmp, "b.png")],
                                      capture_output=True, text=True, check=True)  # fmt: skip
                seconds["libjxl"] += time.perf_counter() - start
                start = time.perf_counter()
                ours = score(b)
                seconds["numpy (per score)"] += time.perf_counter() - start
                start = time.perf_counter()
                with torch.inference_mode():
                    port = float(torch_ssimulacra2(image_to_tensor(a), image_to_tensor(b))[0])
                seconds["torch"] += time.perf_counter() - start
                rows.append({"image": os.path.basename(path), "quality": q, "libjxl": float(done.stdout.split()[-1]),
                             "numpy": ours, "torch": port})  # fmt: skip
    print("| Pillow quality | libjxl (mean) | numpy − libjxl: max abs | torch − libjxl: max abs |\n|---|---|---|---|")
    for q in qualities:
        r = [row for row in rows if row["quality"] == q]
        print(f"| {q} | {np.mean([x['libjxl'] for x in r]):.2f} | {max(abs(x['numpy'] - x['libjxl']) for x in r):.3f} "
              f"| {max(abs(x['torch'] - x['libjxl']) for x in r):.3f} |")  # fmt: skip
    diff = np.array([row["numpy"] - row["libjxl"] for row in rows])
    images = len({row["image"] for row in rows})
    print(f"\n{len(rows)} pairs: numpy − libjxl mean {diff.mean():+.4f}, max |diff| {np.abs(diff).max():.3f}, "
          f"95th percentile of |diff| {np.percentile(np.abs(diff), 95):.3f}")  # fmt: skip
    per = {k: v / (images if "half" in k else len(rows)) for k, v in seconds.items()}
    print("Seconds per pair (per original for the numpy original's half): "
          + ", ".join(f"{k} {v:.3f}" for k, v in per.items()))  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "seconds": per}, f, indent=1)


if __name__ == "__main__":
    main()

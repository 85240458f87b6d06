"""rdjpeg's PyTorch SSIMULACRA2 against an independent implementation, the ``ssimulacra2`` package (numpy/scipy).

For each image and JPEG quality (Pillow encode, Pillow decode) both score the same pair. Two columns for rdjpeg:
the shipped metric (libjxl's boundary: the blur sees zeros outside the image in both directions) and the same code
with the package's boundary (it works on the transposed image, mirroring along image rows and zero-padding along
columns), which isolates every other part of the port.

    .venv/bin/python benchmarks/ssimulacra2_reference.py --images "../shared/data/kodak/*.png" --json runs/ss2.json
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from kornia.filters import gaussian_blur2d
from PIL import Image

from rdjpeg.learned.metrics import ssimulacra2 as ss2


def _mirror(x: torch.Tensor, r: int, dim: int) -> torch.Tensor:
    n = x.shape[dim]
    index = [*range(r - 1, -1, -1), *range(n), *range(n - 1, n - 1 - r, -1)]  # scipy's "reflect": d c b a | a b c d
    return x.index_select(dim, torch.tensor(index))


def package_boundary_blur(x: torch.Tensor) -> torch.Tensor:
    x = _mirror(F.pad(x, (5, 5, 0, 0)), 5, -2)
    return gaussian_blur2d(x, (11, 11), (1.5, 1.5), border_type="constant")[..., 5:-5, 5:-5]


def tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255


def main(argv: list[str] | None = None) -> None:
    from ssimulacra2 import compute_ssimulacra2

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True)
    parser.add_argument("--qualities", default=",".join(str(q) for q in range(5, 100, 5)))
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    qualities = [int(q) for q in args.qualities.split(",")]
    rows, seconds = [], {"package": 0.0, "rdjpeg": 0.0}
    shipped_blur = ss2._blur
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(glob.glob(args.images)):
            a = np.asarray(Image.open(path).convert("RGB"))
            for q in qualities:
                buf = io.BytesIO()
                Image.fromarray(a).save(buf, "JPEG", quality=q)
                b = np.asarray(Image.open(buf).convert("RGB"))
                Image.fromarray(b).save(os.path.join(tmp, "d.png"))
                t = time.perf_counter()
                reference = compute_ssimulacra2(path, os.path.join(tmp, "d.png"))
                seconds["package"] += time.perf_counter() - t
                t = time.perf_counter()
                shipped = float(ss2.ssimulacra2(tensor(a), tensor(b))[0])
                seconds["rdjpeg"] += time.perf_counter() - t
                ss2._blur = package_boundary_blur
                same_boundary = float(ss2.ssimulacra2(tensor(a), tensor(b))[0])
                ss2._blur = shipped_blur
                rows.append({"image": os.path.basename(path), "quality": q, "package": reference,
                             "rdjpeg": shipped, "rdjpeg_package_boundary": same_boundary})  # fmt: skip
    print("| quality | package (mean) | rdjpeg (mean) | max abs diff | with the package's boundary: max abs diff |")
    print("|---|---|---|---|---|")
    for q in qualities:
        r = [row for row in rows if row["quality"] == q]
        print(f"| {q} | {np.mean([x['package'] for x in r]):.2f} | {np.mean([x['rdjpeg'] for x in r]):.2f} | "
              f"{max(abs(x['rdjpeg'] - x['package']) for x in r):.3f} | "
              f"{max(abs(x['rdjpeg_package_boundary'] - x['package']) for x in r):.4f} |")  # fmt: skip
    diff = [row["rdjpeg"] - row["package"] for row in rows]
    same = [abs(row["rdjpeg_package_boundary"] - row["package"]) for row in rows]
    print(f"\n{len(rows)} pairs. Shipped − package: max |diff| {max(map(abs, diff)):.3f}, mean {np.mean(diff):+.3f}, "
          f"min {min(diff):+.3f}. With the package's boundary: max |diff| {max(same):.4f}.")  # fmt: skip
    per_pair = {name: total / len(rows) for name, total in seconds.items()}
    print(f"Time per pair: package {per_pair['package']:.3f} s, rdjpeg {per_pair['rdjpeg']:.3f} s")
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()

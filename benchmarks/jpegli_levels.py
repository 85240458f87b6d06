"""How far the bit-exact libjpeg simulator is from jpegli's real quantization decisions (the first step toward a model
of jpegli for gradients, issue 17): jpegli's real levels (read with jpeglib) against the simulator's with jpegli's
own tables, on training images; binned by the unrounded magnitude |u| (in quantization steps), how often jpegli
zeroes a coefficient that rounding would keep (its adaptive dead zone); and how often a fixed dead zone (levels with
|u| below a threshold set to 0) reproduces jpegli's levels.

    .venv/bin/python benchmarks/jpegli_levels.py
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile

import numpy as np
import torch
from PIL import Image

from rdjpeg.jpeg.simulator import simulate
from rdjpeg.plugins import get_backend

BINS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 2.0, 1e9)
DEAD_ZONES = (0.7, 0.8, 0.85, 0.9, 1.0)


def main(argv: list[str] | None = None) -> None:
    import jpeglib

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("RDJPEG_SHARED", "../shared"))
    parser.add_argument("--qualities", default="30,50,80,90")
    args = parser.parse_args(argv)
    paths = sorted(glob.glob(f"{args.shared}/data/train/bsd200/*.png"))[3::25]
    for q in map(int, args.qualities.split(",")):
        equal = total = 0
        zeroed, kept = np.zeros(len(BINS) - 1), np.zeros(len(BINS) - 1)
        equal_with = np.zeros(len(DEAD_ZONES))
        for path in paths:
            a = np.asarray(Image.open(path).convert("RGB"))
            a = np.ascontiguousarray(a[: a.shape[0] // 16 * 16, : a.shape[1] // 16 * 16])  # whole MCUs
            with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
                f.write(get_backend("jpegli").encode(a, q))
                f.flush()
                dct = jpeglib.read_dct(f.name)
                real_levels, qt = (dct.Y, dct.Cb, dct.Cr), dct.qt
            tables = torch.as_tensor(np.stack([qt[0], qt[1]]).astype(np.int64))[None]
            sim = simulate(torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255, None, "4:2:0", tables=tables,
                           decode=False)  # fmt: skip
            ac = np.ones((8, 8), bool)
            ac[0, 0] = False
            for k, u, real in zip(sim.coefficients, sim.scaled, real_levels, strict=True):
                k, u, real = k[0].numpy()[..., ac], np.abs(u[0].numpy()[..., ac]), np.asarray(real)[..., ac]
                equal += (k == real).sum()
                total += k.size
                for i, t in enumerate(DEAD_ZONES):
                    equal_with[i] += (np.where(u < t, 0, k) == real).sum()
                rounded = k != 0
                bins = np.digitize(u[rounded], BINS) - 1
                np.add.at(zeroed, bins, (real[rounded] == 0))
                np.add.at(kept, bins, 1)
        share = ", ".join(f"[{lo:g}, {hi:g}): {z / max(n, 1):.0%}" for lo, hi, z, n in
                          zip(BINS[:-1], BINS[1:], zeroed, kept, strict=True))  # fmt: skip
        print(f"q{q}: AC levels equal {equal / total:.1%}; zeroed by jpegli where rounding keeps them, by |u|: {share}")
        with_zone = ", ".join(f"{t:g}: {n / total:.1%}" for t, n in zip(DEAD_ZONES, equal_with, strict=True))
        print(f"q{q}: AC levels equal with a dead zone at |u| < {with_zone}")


if __name__ == "__main__":
    main()

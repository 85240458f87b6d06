"""Fit the simulator's model of jpegli's quantizer (issue 17, item 2): a dead zone per quality, component class
(luma, chroma) and AC coefficient, below which jpegli zeroes what rounding would keep.

jpegli zeroes a coefficient when |u| (coefficient / step) is below a per-coefficient zero bias that its adaptive
quantization field raises in busy blocks and lowers in smooth ones. The fit keeps one threshold per coefficient: the
one that reproduces most of jpegli's real levels (read with jpeglib) on training images; the per-block field is left
out. Agreement is then measured on other training images (Urban100) against plain rounding and against one fixed
dead zone of 0.85 steps for every coefficient.

    .venv/bin/python benchmarks/jpegli_dead_zone.py            # writes core/weights/jpegli-dead-zone.json
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import tempfile

import numpy as np
import torch
from PIL import Image

from rdjpeg.jpeg.jpegli_model import QUALITIES as JPEGLI_DEAD_ZONE_QUALITIES
from rdjpeg.jpeg.simulator import simulate
from rdjpeg.plugins import get_backend

GRID = np.round(np.arange(0.5, 1.501, 0.025), 3)
OUT = os.path.join(os.path.dirname(__file__), "..", "core", "weights", "jpegli-dead-zone.json")


def levels(a: np.ndarray, q: int):
    """(jpegli's real AC levels, the simulator's rounded levels, |u|) per component class: lists of (N, 63) arrays."""
    import jpeglib

    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        f.write(get_backend("jpegli").encode(a, q))
        f.flush()
        dct = jpeglib.read_dct(f.name)
    tables = torch.as_tensor(np.stack([dct.qt[0], dct.qt[1]]).astype(np.int64))[None]
    x = torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255
    sim = simulate(x, None, "4:2:0", tables=tables, decode=False)
    out = {0: ([], [], []), 1: ([], [], [])}
    for ci, (k, u, real) in enumerate(zip(sim.coefficients, sim.scaled, (dct.Y, dct.Cb, dct.Cr), strict=True)):
        part = out[min(ci, 1)]
        part[0].append(np.asarray(real).reshape(-1, 64)[:, 1:])
        part[1].append(k[0].numpy().reshape(-1, 64)[:, 1:])
        part[2].append(np.abs(u[0].numpy().reshape(-1, 64)[:, 1:]))
    return {c: tuple(np.concatenate(p) for p in parts) for c, parts in out.items()}


def images(pattern: str, every: int, start: int) -> list[np.ndarray]:
    out = []
    for path in sorted(glob.glob(pattern))[start::every]:
        a = np.asarray(Image.open(path).convert("RGB"))
        out.append(np.ascontiguousarray(a[: a.shape[0] // 16 * 16, : a.shape[1] // 16 * 16]))  # whole MCUs
    return out


def fit(train: list[np.ndarray], q: int) -> np.ndarray:
    """(2, 64) thresholds (DC: 0.5, plain rounding) maximizing agreement with jpegli's AC levels."""
    thresholds = np.full((2, 64), 0.5)
    data = [levels(a, q) for a in train]
    for c in (0, 1):
        real, k, u = (np.concatenate([d[c][i] for d in data]) for i in range(3))
        for j in range(63):
            # agreement at threshold t: zeroed below t where jpegli wrote 0, rounded above t where it equals rounding
            zero_ok, round_ok = real[:, j] == 0, real[:, j] == k[:, j]
            order = np.argsort(u[:, j])
            us, z, r = u[order, j], zero_ok[order], round_ok[order]
            cz, cr = np.concatenate([[0], np.cumsum(z)]), np.concatenate([[0], np.cumsum(r)])
            n = np.searchsorted(us, GRID)  # how many fall below each threshold
            agree = cz[n] + (cr[-1] - cr[n])
            thresholds[c, j + 1] = GRID[int(np.argmax(agree))]
    return thresholds


def agreement(test: list[np.ndarray], q: int, thresholds: np.ndarray | float | None) -> float:
    equal = total = 0
    for a in test:
        for c, (real, k, u) in levels(a, q).items():
            t = 0.0 if thresholds is None else (thresholds if np.isscalar(thresholds) else thresholds[c, 1:])
            equal += (np.where(u < t, 0, k) == real).sum()
            total += real.size
    return equal / total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("RDJPEG_SHARED", "../shared"))
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)
    train = images(f"{args.shared}/data/train/bsd200/*.png", 25, 3)
    test = images(f"{args.shared}/data/train/urban100/*.png", 20, 7)
    table = {}
    for q in JPEGLI_DEAD_ZONE_QUALITIES:
        table[q] = fit(train, q)
        scores = [agreement(test, q, t) for t in (None, 0.85, table[q])]
        print(f"q{q}: AC levels equal on Urban100: rounding {scores[0]:.1%}, dead zone 0.85 {scores[1]:.1%}, "
              f"fitted {scores[2]:.1%}; mean fitted threshold luma {table[q][0, 1:].mean():.3f}, "
              f"chroma {table[q][1, 1:].mean():.3f}", flush=True)  # fmt: skip
    record = {
        "command": "benchmarks/jpegli_dead_zone.py",
        "date": datetime.date.today().isoformat(),
        "fitted_on": "bsd200, every 25th image from the 4th, cropped to whole MCUs",
        "qualities": list(JPEGLI_DEAD_ZONE_QUALITIES),
        "thresholds": [table[q].round(3).tolist() for q in JPEGLI_DEAD_ZONE_QUALITIES],
    }
    with open(args.out, "w") as f:
        json.dump(record, f)


if __name__ == "__main__":
    main()

"""Per-photo subsampling (issue 31, part 2): target mode and ``quality=q`` choose 4:2:0 or 4:4:4 for each photo.

Per photo (resumable, one JSON line per photo and stage in ``--out``), with the real encoder and Pillow's decoder,
scored by ``rdjpeg.scores`` (and by libjxl's ``ssimulacra2`` binary, ``--reference``, for target mode's files):

* ``fixed``: jpegli (progressive, optimized, as the default writes it) at 4:2:0 and at 4:4:4, at each quality of
  :data:`FIXED_QUALITIES`: bytes and score (no model involved: this stage can run before a fit);
* ``model``: target mode at each target of :data:`TARGETS` (bytes, score, the reference's score, the subsampling
  chosen, encodes), and the default at :data:`DEFAULT_QUALITIES` with its per-photo choice and with 4:2:0 forced
  (the default before it): bytes, score, subsampling.

``report`` prints: the share of photos target mode lands in [T, T + 2]; at a floor S (target mode at S against the
lowest fixed quality at which 95 % of the photos reach S, at 4:2:0 and at 4:4:4, the smaller), total bytes; the
default with and without the choice at each q.

    .venv/bin/python benchmarks/subsampling.py --images "../shared/data/kodak/*.png" \
        --reference /work/tools/ssimulacra2 --out runs/subsampling-kodak.jsonl \
        --json runs/subsampling-kodak.json
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import subprocess
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

FIXED_QUALITIES = tuple(range(76, 101, 2))
TARGETS = (85, 90)
FLOORS = (85, 90)
SHARE = 0.95  # a floor holds when this share of the photos reaches it (as benchmarks/targets.py)
DEFAULT_QUALITIES = (90, 95)
SUBSAMPLINGS = ("4:2:0", "4:4:4")


def reference_score(a: np.ndarray, b: np.ndarray, binary: str) -> float:
    """libjxl's ssimulacra2 binary on two 8-bit PNGs."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [os.path.join(folder, name) for name in ("a.png", "b.png")]
        for path, pixels in zip(paths, (a, b), strict=True):
            Image.fromarray(pixels).save(path)
        out = subprocess.run([binary, *paths], capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def sampling(data: bytes) -> str:
    """The subsampling of a JPEG file, as Pillow's decoder reads it."""
    return {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0"}[Image.open(io.BytesIO(data)).layer[0][1:3]]


def measure(task: tuple[str, str, str]) -> dict:
    """One photo's ``stage`` (module docstring)."""
    import rdjpeg
    from rdjpeg.images import decode_jpeg
    from rdjpeg.jpeg import jpegli
    from rdjpeg.registry import get_backend
    from rdjpeg.scores import SSIMULACRA2

    path, stage, reference = task
    pixels = np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB")))
    score = SSIMULACRA2(pixels)
    row = {"path": path, "stage": stage, "pixels": int(pixels.shape[0] * pixels.shape[1])}
    if stage == "fixed":
        for subsampling in SUBSAMPLINGS:
            row[subsampling] = {}
            for q in FIXED_QUALITIES:
                data = jpegli.encode(pixels, q, progressive=True, subsampling=subsampling)
                row[subsampling][q] = {"bytes": len(data), "score": round(score(decode_jpeg(data, False)), 3)}
        return row
    row["target"] = {}
    for t in TARGETS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = rdjpeg.encode_to_target(pixels, f"ssimulacra2:{t}")
        decoded = decode_jpeg(found.data, False)
        judged = round(reference_score(pixels, decoded, reference), 3) if reference else None
        row["target"][t] = {"bytes": len(found.data), "score": round(found.score, 3), "encodes": found.encodes,
                            "subsampling": sampling(found.data), "reference": judged}  # fmt: skip
    default = get_backend("default")
    row["default"] = {}
    for q in DEFAULT_QUALITIES:
        for name, forced in (("chosen", None), ("4:2:0", "4:2:0")):
            data = default.encode(pixels, q, **({"subsampling": forced} if forced else {}))
            row["default"][f"{q} {name}"] = {"bytes": len(data), "score": round(score(decode_jpeg(data, False)), 3),
                                             "subsampling": sampling(data)}  # fmt: skip
    return row


def load(out: str) -> dict:
    rows = {}
    if os.path.exists(out):
        with open(out) as f:
            for row in map(json.loads, f):
                rows[row["path"], row["stage"]] = row
    return rows


def report(rows: dict) -> dict:
    paths = sorted({path for path, _ in rows})
    fixed = [rows[p, "fixed"] for p in paths if (p, "fixed") in rows]
    model = [rows[p, "model"] for p in paths if (p, "model") in rows]
    out = {"photos": len(paths), "targets": {}, "floors": {}, "default": {}}
    for t in TARGETS:
        scores = np.array([r["target"][str(t)]["score"] for r in model])
        ref = [r["target"][str(t)]["reference"] for r in model]
        share_444 = np.mean([r["target"][str(t)]["subsampling"] == "4:4:4" for r in model])
        inside = float(np.mean((scores >= t) & (scores <= t + 2)))
        ref_inside = float(np.mean([t <= s <= t + 2 for s in ref])) if None not in ref else None
        cells = [r["target"][str(t)] for r in model]
        out["targets"][t] = {"in_window": round(inside, 3), "reference_in_window": ref_inside,
                             "share_444": round(float(share_444), 3), "bytes": int(sum(c["bytes"] for c in cells)),
                             "encodes_mean": round(float(np.mean([c["encodes"] for c in cells])), 2)}  # fmt: skip
        print(f"target {t}: {inside:.0%} in [{t}, {t + 2}] (reference: {ref_inside}), 4:4:4 for {share_444:.0%}")
    for s in FLOORS:
        if not fixed or not model or s not in TARGETS:
            continue
        target_bytes = sum(r["target"][str(s)]["bytes"] for r in model if any(m["path"] == r["path"] for m in fixed))
        best = {}
        for subsampling in SUBSAMPLINGS:
            for q in FIXED_QUALITIES:
                share = np.mean([r[subsampling][str(q)]["score"] >= s for r in fixed])
                if share >= SHARE:
                    best[subsampling] = (q, int(sum(r[subsampling][str(q)]["bytes"] for r in fixed)))
                    break
        smallest = min(best.values(), key=lambda v: v[1]) if best else None
        change = target_bytes / smallest[1] - 1 if smallest else None
        out["floors"][s] = {"target_bytes": target_bytes, "fixed": best, "target_vs_best_fixed": change}
        print(f"floor {s}: target mode {target_bytes:,} B; fixed {best}; target vs best fixed {change:+.1%}")
    for q in DEFAULT_QUALITIES:
        new, old = ([r["default"][f"{q} {k}"] for r in model] for k in ("chosen", "4:2:0"))
        figures = {"bytes_chosen": sum(x["bytes"] for x in new), "bytes_420": sum(x["bytes"] for x in old),
                   "look_chosen": round(float(np.mean([x["score"] for x in new])), 2),
                   "look_420": round(float(np.mean([x["score"] for x in old])), 2),
                   "share_444": round(float(np.mean([x["subsampling"] == "4:4:4" for x in new])), 3)}  # fmt: skip
        out["default"][q] = figures
        print(f"default q{q}: {figures}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, help="a glob of PNG photos")
    parser.add_argument("--out", required=True, help="JSON lines, resumable")
    parser.add_argument("--stages", nargs="+", default=["fixed", "model"], choices=["fixed", "model"])
    parser.add_argument("--reference", default="", help="libjxl's ssimulacra2 binary (target mode's spot check)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    rows = load(args.out)
    tasks = [(p, s, args.reference) for p in sorted(glob.glob(args.images)) for s in args.stages
             if (p, s) not in rows]  # fmt: skip
    with ProcessPoolExecutor(args.jobs) as pool, open(args.out, "a") as f:
        for row in pool.map(measure, tasks):
            f.write(json.dumps(row) + "\n")
            f.flush()
            rows[row["path"], row["stage"]] = json.loads(json.dumps(row))
    figures = report(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()

"""Gray photos: jpegli against mozjpeg 5, each as the default would write it (issue: gray photos' per-photo treatment),
on two judges: libjxl's ``ssimulacra2`` binary and ``butteraugli_main`` (3-norm).

Training photos only (never Kodak): every 10th of BSD200 and every 5th of Urban100 (:func:`photos`), as gray
(``Image.convert("L")``), their first 3 rows and 5 columns dropped (BSD200's old JPEG grid, as
``calibrate_quality.py``). Per photo (resumable, one JSON line per photo in ``--out``), at each quality of
:data:`QUALITIES`: jpegli progressive and optimized (``rdjpeg.jpeg.jpegli.encode``), mozjpeg as the default wrote
gray (``get_backend("mozjpeg").write(pixels, q, optimize=True, progressive=True)``): bytes, SSIMULACRA2,
butteraugli, Pillow's decoder, gray PNGs to both binaries.

``report`` prints and returns the average curves (mean bits per pixel and mean score per quality) and the BD-rate of
jpegli against mozjpeg on each judge (butteraugli negated, so that higher is better).

    .venv/bin/python benchmarks/gray_encoders.py --reference /work/tools/ssimulacra2 \
        --out runs/gray-encoders.jsonl --json benchmarks/results/gray-encoders-train.json
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

QUALITIES = tuple(range(30, 99, 4))  # 30..98
CODECS = ("jpegli", "mozjpeg")


def photos(shared: str) -> list[str]:
    """The training photos measured: every 10th of BSD200, every 5th of Urban100 (40)."""
    return (sorted(glob.glob(f"{shared}/data/train/bsd200/*.png"))[::10]
            + sorted(glob.glob(f"{shared}/data/train/urban100/*.png"))[::5])  # fmt: skip


def encoder(name: str):
    """``(pixels, q) -> bytes`` for gray pixels: jpegli progressive and optimized, or mozjpeg as the default wrote
    gray."""
    from rdjpeg.jpeg import jpegli
    from rdjpeg.registry import get_backend

    if name == "jpegli":
        return lambda p, q: jpegli.encode(p, q, progressive=True, optimize=True)
    mozjpeg = get_backend("mozjpeg")
    return lambda p, q: mozjpeg.write(p, q, optimize=True, progressive=True)


def judge(original: str, data: bytes, reference: str, folder: str) -> dict:
    """Bytes and both judges' scores of one file against the original PNG."""
    path = os.path.join(folder, "distorted.png")
    Image.open(io.BytesIO(data)).save(path)  # Pillow's decode, gray
    ss2 = subprocess.run([reference, original, path], capture_output=True, text=True, check=True)
    ba = subprocess.run(["butteraugli_main", original, path, "--pnorm", "3"], capture_output=True, text=True,
                        check=True).stdout.split()  # fmt: skip
    return {"bytes": len(data), "ssimulacra2": round(float(ss2.stdout.split()[-1]), 3),
            "butteraugli": round(float(ba[ba.index("3-norm:") + 1]), 4)}  # fmt: skip


def measure(path: str, reference: str, qualities=QUALITIES) -> dict:
    """One photo's row (module docstring)."""
    pixels = np.ascontiguousarray(np.asarray(Image.open(path).convert("L"))[3:, 5:])
    row: dict = {"path": path, "pixels": int(pixels.size), "codecs": {}}
    with tempfile.TemporaryDirectory() as folder:
        original = os.path.join(folder, "original.png")
        Image.fromarray(pixels).save(original)
        for name in CODECS:
            write = encoder(name)
            row["codecs"][name] = {q: judge(original, write(pixels, q), reference, folder) for q in qualities}
    return row


def photo_curves(row: dict, codec: str, judge_name: str) -> tuple[np.ndarray, np.ndarray]:
    """One photo's (bits per pixel, score) at its qualities, the score higher-is-better (butteraugli negated)."""
    points = [row["codecs"][codec][q] for q in sorted(row["codecs"][codec], key=int)]
    sign = -1 if judge_name == "butteraugli" else 1
    return (np.asarray([8 * p["bytes"] / row["pixels"] for p in points]),
            np.asarray([sign * p[judge_name] for p in points]))  # fmt: skip


def report(rows: list[dict]) -> dict:
    """Average curves and BD-rates of jpegli against mozjpeg (module docstring)."""
    from rdjpeg.learned.report import bd_rate

    curves = {}
    for name in CODECS:
        qualities = sorted({int(q) for row in rows for q in row["codecs"][name]})
        curve = {"quality": qualities, "bpp": [], "ssimulacra2": [], "butteraugli": []}
        for q in qualities:
            points = [row["codecs"][name][str(q)] for row in rows]
            bpp = [8 * point["bytes"] / row["pixels"] for point, row in zip(points, rows, strict=True)]
            curve["bpp"].append(float(np.mean(bpp)))
            for judge_name in ("ssimulacra2", "butteraugli"):
                curve[judge_name].append(float(np.mean([p[judge_name] for p in points])))
        curves[name] = curve
    jpegli, mozjpeg = curves["jpegli"], curves["mozjpeg"]
    bd = {"ssimulacra2": bd_rate(mozjpeg["bpp"], mozjpeg["ssimulacra2"], jpegli["bpp"], jpegli["ssimulacra2"]),
          "butteraugli": bd_rate(mozjpeg["bpp"], -np.asarray(mozjpeg["butteraugli"]), jpegli["bpp"],
                                 -np.asarray(jpegli["butteraugli"]))}  # fmt: skip
    per_photo = {name: [bd_rate(*photo_curves(row, "mozjpeg", name), *photo_curves(row, "jpegli", name))
                        for row in rows] for name in bd}  # fmt: skip
    print(f"{len(rows)} gray training photos; BD-rate of jpegli against mozjpeg (average curves; per photo: median, "
          "photos where jpegli is smaller):")  # fmt: skip
    for judge_name, value in bd.items():
        values = np.asarray(per_photo[judge_name])
        print(
            f"  {judge_name}: {value:+.1f} %; per photo {np.nanmedian(values):+.1f} %, "
            f"{int(np.sum(values < 0))}/{len(values)}"
        )
    for name, curve in curves.items():
        print(f"{name}: q " + " ".join(f"{q}:{b:.2f}bpp/{s:.1f}/{a:.2f}" for q, b, s, a in
                                       zip(curve["quality"], curve["bpp"], curve["ssimulacra2"], curve["butteraugli"],
                                           strict=True)))  # fmt: skip
    return {"photos": len(rows), "bd_rate_jpegli_vs_mozjpeg": bd,
            "per_photo": {k: [round(v, 2) for v in values] for k, values in per_photo.items()},
            "paths": [os.path.basename(row["path"]) for row in rows], "curves": curves}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("RDJPEG_SHARED", "../shared"))
    parser.add_argument("--reference", default="/work/tools/ssimulacra2", help="libjxl's ssimulacra2 binary")
    parser.add_argument("--out", default="runs/gray-encoders.jsonl", help="per-photo rows (resumable)")
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args(argv)
    done = set()
    rows = []
    if os.path.exists(args.out):
        with open(args.out) as f:
            rows = [json.loads(line) for line in f]
        done = {row["path"] for row in rows}
    for path in photos(args.shared):
        if path in done:
            continue
        row = json.loads(json.dumps(measure(path, args.reference)))  # keys as the file holds them
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        rows.append(row)
        print(os.path.basename(path), flush=True)
    figures = report(rows)
    if args.json:
        command = " ".join([".venv/bin/python benchmarks/gray_encoders.py", *(sys.argv[1:] if argv is None else argv)])
        with open(args.json, "w") as f:
            json.dump({"command": command, **figures}, f, indent=1)


if __name__ == "__main__":
    main()

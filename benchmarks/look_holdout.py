"""The look predictor out of its training set (issue 31, part 5): fit on one training set, judge on the other.

From the measurements of ``rdjpeg train look`` (``curves.jsonl``: jpegli at 4:2:0 and 4:4:4 at every quality of
``rdjpeg.look.QUALITIES``, Pillow at every quality of ``PILLOW_QUALITIES``, all scored by ``rdjpeg.scores``), for
each split (fit on BSD200, judge on Urban100, and the reverse):

* the default's look at Pillow's q = 30..95 on the held-out photos, as ``quality=q`` chooses it with the split's
  predictor (jpegli's quality of the fitted set's mean look, and the subsampling), read off the photo's measured
  curve at that quality (linear between the measured qualities), against Pillow's measured look at q: the
  5th-percentile gain and the mean difference; the same for the default before (a per-photo aim, :data:`BEFORE`)
  and for the typical look aimed at on each photo's predicted curve;
* the BD-rate (SSIMULACRA2) of the default against jpegli at one quality for all (4:2:0, the qualities measured),
  average curves over q = 30..95;
* what the per-photo subsampling saves at the same look (``rdjpeg.train_look.subsampling_savings``, with the
  held-out photos' predictions).

These figures encode nothing: every one is a measured point of the training run (bytes and scores of real files
decoded by Pillow) or an interpolation between two of them. With ``--butteraugli N``, the first N held-out photos of
each split are encoded for real, the default's files (now and before) and jpegli 4:2:0 at q = 30..95, and judged
by butteraugli (libjxl's ``butteraugli_main``, 3-norm): the BD-rate on the second judge.

    .venv/bin/python benchmarks/look_holdout.py --curves runs/look/curves.jsonl \
        --data ../shared/data/train/bsd200 ../shared/data/train/urban100 --butteraugli 6 \
        --json runs/look-holdout.json
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

HOLDOUT_QUALITIES = tuple(range(30, 96, 5))  # Pillow's qualities the default is judged at (issue 31)


def load_rows(curves: str, data: list[str]) -> tuple[list[dict], np.ndarray, dict[str, str]]:
    """The measured rows whose images are under ``data``, their features, and each row's file."""
    from rdjpeg.files import image_paths
    from rdjpeg.look import features
    from rdjpeg.train_look import MEASURED, training_pixels

    root = {os.path.basename(os.path.dirname(p)) + "/" + os.path.basename(p): p for p in image_paths(data)}
    with open(curves) as f:
        rows = [row for row in map(json.loads, f) if row.keys() >= MEASURED and row["path"] in root]
    return rows, np.stack([features(training_pixels(root[row["path"]])) for row in rows]), root


def settings(look, features: np.ndarray, q: int, blend: float | None = None) -> tuple[int, str]:
    """(jpegli quality, subsampling) that ``quality=q`` writes a photo at with predictor ``look``
    (:meth:`Look.settings`); with ``blend``, as the default before chose them (each photo aimed at the typical look
    moved by ``blend`` toward its own predicted Pillow look, at the quality nearest the aim on its own predicted
    curve)."""
    from rdjpeg.look import nearest_quality

    if blend is None:
        return look.settings(q, features)
    aim = look.pillow_look(q)
    aim += blend * (float(look._predict("pillow_ssimulacra2", features)[q - 1]) - aim)
    subsampling = "4:2:0" if look.ssimulacra2(features, "4:2:0")[-1] >= aim else "4:4:4"
    return nearest_quality(look.ssimulacra2(features, subsampling), aim), subsampling


def default_points(look, rows: list[dict], f: np.ndarray, blend: float | None = None) -> dict:
    """Per Pillow quality of :data:`HOLDOUT_QUALITIES`: the looks and bits per pixel of the files ``quality=q``
    writes of ``rows`` (:func:`settings`), and Pillow's looks."""
    from rdjpeg.look import CURVES, QUALITIES
    from rdjpeg.train_look import PILLOW_QUALITIES

    out = {}
    for q in HOLDOUT_QUALITIES:
        looks, bpp, pillow = [], [], []
        for row, features in zip(rows, f, strict=True):
            chosen, subsampling = settings(look, features, q, blend)
            measured = row["jpegli" + CURVES[subsampling]]
            looks.append(float(np.interp(chosen, QUALITIES, measured["ssimulacra2"])))
            size = np.exp(np.interp(chosen, QUALITIES, np.log(measured["bytes"])))
            bpp.append(8 * size / (row["height"] * row["width"]))
            pillow.append(row["pillow"]["ssimulacra2"][PILLOW_QUALITIES.index(q)])
        out[q] = {"look": np.asarray(looks), "bpp": np.asarray(bpp), "pillow": np.asarray(pillow)}
    return out


def spread_figures(points: dict) -> dict:
    """Per q: the 5th-percentile gain over Pillow and the mean difference from Pillow's."""
    return {q: {"p5_gain": round(float(np.percentile(p["look"], 5) - np.percentile(p["pillow"], 5)), 2),
                "mean_minus_pillow": round(float(p["look"].mean() - p["pillow"].mean()), 2)}
            for q, p in points.items()}  # fmt: skip


def bd_against_jpegli(points: dict, rows: list[dict]) -> float:
    """BD-rate (SSIMULACRA2) of the default's average curve against jpegli 4:2:0 at one quality for all photos,
    over jpegli's measured qualities from 30 to 96."""
    from rdjpeg.learned.report import bd_rate
    from rdjpeg.look import QUALITIES

    ours_bpp = np.array([points[q]["bpp"].mean() for q in HOLDOUT_QUALITIES])
    ours_look = np.array([points[q]["look"].mean() for q in HOLDOUT_QUALITIES])
    bpp = np.mean([8 * np.asarray(row["jpegli"]["bytes"]) / (row["height"] * row["width"]) for row in rows], 0)
    looks = np.mean([row["jpegli"]["ssimulacra2"] for row in rows], 0)
    span = [i for i, q in enumerate(QUALITIES) if 30 <= q <= 96]  # as benchmarks/targets.py: jpegli at q30..95
    return round(float(bd_rate(bpp[span], looks[span], ours_bpp, ours_look)), 2)


def butteraugli_bd(look, rows: list[dict], f: np.ndarray, root: dict[str, str], jobs: int,
                   blend: float | None = None) -> dict:  # fmt: skip
    """Real files of ``rows``: the default's at each q of :data:`HOLDOUT_QUALITIES` (:func:`settings`) and jpegli
    4:2:0 at the same qualities, judged by butteraugli (3-norm, lower is better): the BD-rate of the default against
    jpegli at one quality (average curves; butteraugli negated so that higher is better)."""
    from rdjpeg.learned.report import bd_rate

    tasks = []
    for row, features in zip(rows, f, strict=True):
        for q in HOLDOUT_QUALITIES:
            chosen, subsampling = settings(look, features, q, blend)
            tasks += [(root[row["path"]], chosen, subsampling), (root[row["path"]], q, "4:2:0")]
    with ProcessPoolExecutor(jobs) as pool:
        judged = list(pool.map(_judge, tasks))
    pixels = [row["height"] * row["width"] for row in rows for _ in HOLDOUT_QUALITIES]
    ours, fixed = np.asarray(judged[0::2]), np.asarray(judged[1::2])  # (bytes, butteraugli) per photo and q
    curves = []
    for cells in (ours, fixed):
        cells = cells.reshape(len(rows), len(HOLDOUT_QUALITIES), 2)
        bpp = (8 * cells[..., 0] / np.reshape(pixels, (len(rows), -1))).mean(0)
        curves.append((bpp, -cells[..., 1].mean(0)))
    return {"photos": len(rows), "bd_rate_vs_jpegli": round(float(bd_rate(*curves[1], *curves[0])), 2),
            "butteraugli_mean_default": curves[0][1].round(3).tolist(),
            "butteraugli_mean_jpegli": curves[1][1].round(3).tolist()}  # fmt: skip


def _judge(task: tuple[str, int, str]) -> tuple[int, float]:
    """(bytes, butteraugli 3-norm) of jpegli's progressive file of a training image."""
    from rdjpeg.images import decode_jpeg
    from rdjpeg.jpeg import jpegli
    from rdjpeg.learned.metrics.butteraugli import _run, butteraugli_binary
    from rdjpeg.train_look import training_pixels

    path, quality, subsampling = task
    pixels = training_pixels(path)
    data = jpegli.encode(pixels, quality, progressive=True, subsampling=subsampling)
    decoded = np.ascontiguousarray(decode_jpeg(data, False))
    return len(data), _run(butteraugli_binary(), pixels.tobytes(), decoded.tobytes(), pixels.shape)[1]


BEFORE = 0.25  # the blend of the default before (a per-photo aim), for comparison


def split(rows: list[dict], f: np.ndarray, fitted: str, held: str, root: dict[str, str] | None = None,
          butteraugli: int = 0, jobs: int = 2) -> dict:  # fmt: skip
    """Fit on the rows of set ``fitted``, judge on those of ``held`` (and, with ``butteraugli``, that many held-out
    photos by butteraugli: :func:`butteraugli_bd`; ``root`` maps a row's path to its file)."""
    from rdjpeg.look import QUALITIES, Look
    from rdjpeg.train_look import fit, subsampling_savings, targets

    fit_rows = [i for i, row in enumerate(rows) if row["path"].startswith(fitted + "/")]
    held_rows = [i for i, row in enumerate(rows) if row["path"].startswith(held + "/")]
    predictor = Look(fit([rows[i] for i in fit_rows], {}, f[fit_rows]))
    rows_h, f_h = [rows[i] for i in held_rows], f[held_rows]
    out = {"fitted_on": fitted, "images": len(fit_rows), "held_out": held, "held_out_images": len(held_rows)}
    for name, blend in (("default", None), ("per_photo_aim_before", BEFORE), ("typical_aim", 0.0)):
        points = default_points(predictor, rows_h, f_h, blend)
        out[name] = {"spread": spread_figures(points), "bd_rate_vs_jpegli": bd_against_jpegli(points, rows_h)}
        if butteraugli and name != "typical_aim":
            out[name]["butteraugli"] = butteraugli_bd(predictor, rows_h[:butteraugli], f_h[:butteraugli], root, jobs,
                                                      blend)  # fmt: skip
    measured = targets(rows_h)
    grid = np.asarray(QUALITIES) - 1  # the held-out predictions at the measured qualities
    predicted = {k: np.stack([predictor._predict(k, x)[grid] for x in f_h]) for k in measured}
    out["subsampling_savings"] = subsampling_savings(measured, predicted)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curves", required=True, help="curves.jsonl of `rdjpeg train look`")
    parser.add_argument("--data", nargs="+", required=True, help="the training sets' folders (their names split)")
    parser.add_argument("--butteraugli", type=int, default=0, help="held-out photos judged by butteraugli per split")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    rows, f, root = load_rows(args.curves, args.data)
    sets = sorted({row["path"].split("/")[0] for row in rows})
    figures = [split(rows, f, a, b, root, args.butteraugli, args.jobs) for a in sets for b in sets if a != b]
    for fig in figures:
        print(f"\nfit on {fig['fitted_on']} ({fig['images']}), judged on {fig['held_out']} "
              f"({fig['held_out_images']})")  # fmt: skip
        blends = ("default", "per_photo_aim_before", "typical_aim")
        print("| Pillow q | " + " | ".join(f"p5 gain / mean − Pillow ({b})" for b in blends) + " |")
        print("|---" * (len(blends) + 1) + "|")
        for q in HOLDOUT_QUALITIES:
            cells = [fig[b]["spread"][q] for b in blends]
            print(
                f"| {q} | " + " | ".join(f"{c['p5_gain']:+.2f} / {c['mean_minus_pillow']:+.2f}" for c in cells) + " |"
            )
        print("BD-rate against jpegli at one quality: " + ", ".join(f"{b} {fig[b]['bd_rate_vs_jpegli']:+.2f} %"
              for b in blends))  # fmt: skip
        print("subsampling savings:", json.dumps(fig["subsampling_savings"]))
        for b in blends:
            if "butteraugli" in fig[b]:
                print(f"butteraugli BD-rate against jpegli at one quality, {b} ({fig[b]['butteraugli']['photos']} "
                      f"photos): {fig[b]['butteraugli']['bd_rate_vs_jpegli']:+.2f} %")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()

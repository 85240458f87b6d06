"""Every photo at the look asked for (issue 27): targets, floors, the look-calibrated default and JPEG inputs, on a set
of photos, with real encoders, Pillow's decoder, libjxl's own SSIMULACRA2 binary (``--reference``) and butteraugli
(libjxl's ``butteraugli_main``, 3-norm) as the judges.

Per photo (``measure``, in ``--jobs`` processes; resumable, one JSON line per photo in ``--out``):

* target mode at T = 50, 60, 70, 80, 90: bytes, the quality chosen, rdjpeg's score and the reference's, butteraugli,
  encodes, scorings and seconds;
* fixed qualities of jpegli (progressive, as the default writes it), mozjpeg 5 (cjpeg's defaults) and Pillow, on a
  grid of qualities: bytes and reference score (butteraugli only where a figure needs it, in ``judge``);
* the default at q = 30..95 and the previous default (issue 26: jpegli at one quality per q, moved by the image's
  complexity; its map from ``--previous-map``): bytes, reference score and butteraugli;
* camera-like JPEGs (the photo saved by Pillow at q95 and at q85) compressed at a target, the look measured against
  their decoded pixels: bytes in and out, and whether the input was kept (losslessly optimized).

Then ``report`` prints the figures and writes them to ``--json``; ``--crops`` writes the crop figure.

    .venv/bin/python benchmarks/targets.py --images "../shared/data/kodak/*.png" --reference /path/to/ssimulacra2 \
        --previous-map runs/quality-map-previous.json --out runs/targets-kodak.jsonl \
        --json benchmarks/results/targets-kodak.json --crops docs/img/crops_floor70.png
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

TARGETS = (50, 60, 70, 80, 90)
FLOORS = (60, 70, 80)
SHARE = 0.95  # a floor holds when this share of the photos reaches it
GRID = tuple(sorted({*range(10, 101, 2), *range(30, 100, 5)}))
DEFAULT_QUALITIES = tuple(range(30, 100, 5))
RECOMPRESS = ((95, 80), (85, 80), (95, 70))  # (Pillow quality of the input, target)
REFERENCE = os.environ.get("SSIMULACRA2_REFERENCE", "")


def reference_score(a: np.ndarray, b: np.ndarray) -> float:
    """libjxl's ssimulacra2 binary on two 8-bit sRGB PNGs (no colour chunks: the pixels as Pillow decodes them)."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [os.path.join(folder, name) for name in ("a.png", "b.png")]
        for path, pixels in zip(paths, (a, b), strict=True):
            Image.fromarray(pixels).save(path)
        out = subprocess.run([REFERENCE, *paths], capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def butteraugli(a: np.ndarray, b: np.ndarray) -> float:
    from rdjpeg.learned.metrics.butteraugli import _run, butteraugli_binary

    return _run(butteraugli_binary(), a.tobytes(), b.tobytes(), a.shape)[1]


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def encoders() -> dict:
    import pyvips

    from rdjpeg.jpeg import jpegli
    from rdjpeg.jpeg.backends import pillow_jpeg_bytes

    def mozjpeg(pixels, q):
        image = pyvips.Image.new_from_memory(np.ascontiguousarray(pixels).data, pixels.shape[1], pixels.shape[0], 3,
                                             "uchar")  # fmt: skip
        return image.jpegsave_buffer(Q=q, optimize_coding=True, trellis_quant=True, overshoot_deringing=True,
                                     interlace=True, optimize_scans=True, keep="none")  # fmt: skip

    return {
        "jpegli": lambda p, q: jpegli.encode(p, q, progressive=True),
        "mozjpeg": mozjpeg,
        "pillow": lambda p, q: pillow_jpeg_bytes(Image.fromarray(p), quality=q),
    }


def previous_default(pixels: np.ndarray, q: int, fit: dict) -> bytes:
    """Issue 26's default: jpegli's quality from one map per q, moved by log bpp of a baseline probe."""
    from rdjpeg.jpeg import jpegli

    i = q - 1
    complexity = math.log(8 * len(jpegli.encode(pixels, fit["base"][i])) / (pixels.shape[0] * pixels.shape[1]))
    moved = min(100, max(1, round(fit["intercept"][i] + fit["slope"][i] * (complexity - fit["center"][i]))))
    return jpegli.encode(pixels, moved, progressive=True)


def measure(path: str, previous_map: str, reused: dict | None = None) -> dict:
    """One photo's row; ``reused``: an earlier row of it whose fixed-quality and previous-default measurements stand
    (they do not depend on rdjpeg's code), so that only rdjpeg's own files are measured again."""
    import rdjpeg

    with open(previous_map) as f:
        previous = json.load(f)["rgb"]
    pixels = np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB")))
    row: dict = {"path": path, "pixels": int(pixels.shape[0] * pixels.shape[1])}
    row["target"] = {}
    for t in TARGETS:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = rdjpeg.encode_to_target(pixels, f"ssimulacra2:{t}")
        seconds = time.perf_counter() - start
        b = decoded(found.data)
        row["target"][t] = {"bytes": len(found.data), "quality": found.quality, "score": found.score,
                            "reference": reference_score(pixels, b), "butteraugli": butteraugli(pixels, b),
                            "encodes": found.encodes, "scorings": found.scorings, "seconds": seconds,
                            "reached": found.reached}  # fmt: skip
    row["fixed"] = reused["fixed"] if reused else {}
    for name, encode in encoders().items() if not reused else ():
        row["fixed"][name] = {}
        for q in GRID:
            data = encode(pixels, q)
            row["fixed"][name][q] = {"bytes": len(data), "reference": reference_score(pixels, decoded(data))}
    if reused:
        row["previous"] = reused["previous"]
    writers = {"default": lambda q: rdjpeg.encode(pixels, q),
               "previous": lambda q: previous_default(pixels, q, previous)}  # fmt: skip
    for name, write in writers.items():
        if name in row:
            continue
        row[name] = {}
        for q in DEFAULT_QUALITIES:
            data = write(q)
            b = decoded(data)
            row[name][q] = {"bytes": len(data), "reference": reference_score(pixels, b),
                            "butteraugli": butteraugli(pixels, b)}  # fmt: skip
    row["recompress"] = []
    for source_quality, t in RECOMPRESS:
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", quality=source_quality)
        source = buf.getvalue()
        with Image.open(io.BytesIO(source)) as im:
            found = rdjpeg.make_plan(target=f"ssimulacra2:{t}").encode(im.convert("RGB"), source=source)
        row["recompress"].append({"source_quality": source_quality, "target": t, "bytes_in": len(source),
                                  "bytes_out": len(found.data), "lossless": found.lossless,
                                  "score": found.score})  # fmt: skip
    return row


def judge(row: dict, codec: str, q: int) -> float:
    """butteraugli of a fixed-quality file (for the floors' spread), computed when a figure needs it."""
    pixels = np.ascontiguousarray(np.asarray(Image.open(row["path"]).convert("RGB")))
    return butteraugli(pixels, decoded(encoders()[codec](pixels, q)))


class Judged:
    """butteraugli of every photo's fixed-quality file, per (codec, quality), computed once, in ``jobs`` processes."""

    def __init__(self, rows: list[dict], jobs: int) -> None:
        self.rows, self.jobs, self.scores = rows, jobs, {}

    def __call__(self, codec: str, q: int) -> list[float]:
        if (codec, q) not in self.scores:
            n = len(self.rows)
            with ProcessPoolExecutor(self.jobs) as pool:
                self.scores[codec, q] = list(pool.map(judge, self.rows, [codec] * n, [q] * n))
        return self.scores[codec, q]


def load(out: str) -> list[dict]:
    if not os.path.exists(out):
        return []
    with open(out) as f:
        rows = [json.loads(line) for line in f]
    for row in rows:  # JSON keys are strings
        for key in ("target", "default", "previous"):
            row[key] = {int(k): v for k, v in row[key].items()}
        row["fixed"] = {c: {int(k): v for k, v in d.items()} for c, d in row["fixed"].items()}
    return rows


def stats(values) -> dict:
    v = np.asarray(values, np.float64)
    return {"mean": round(float(v.mean()), 3), "std": round(float(v.std()), 3),
            "p5": round(float(np.percentile(v, 5)), 3), "min": round(float(v.min()), 3),
            "max": round(float(v.max()), 3)}  # fmt: skip


def table(header: str) -> None:
    print(f"\n| {header} |\n|" + "---|" * (header.count("|") + 1))


def target_figures(rows: list[dict]) -> dict:
    out = {}
    table("target | in [T, T+2] (reference) | reference min / mean | encodes | scorings | seconds (median)")
    for t in TARGETS:
        cells = [r["target"][t] for r in rows]
        ref = np.array([c["reference"] for c in cells])
        reachable = [c for c in cells if c["reached"]]
        share = float(np.mean([t <= c["reference"] <= t + 2 for c in reachable])) if reachable else float("nan")
        out[t] = {"in_window": share, "reached": len(reachable), "reference": stats(ref),
                  "encodes": float(np.mean([c["encodes"] for c in cells])),
                  "scorings": float(np.mean([c["scorings"] for c in cells])),
                  "seconds_median": float(np.median([c["seconds"] for c in cells]))}  # fmt: skip
        f = out[t]
        print(f"| {t} | {100 * share:.0f} % ({len(reachable)} reachable) | {ref.min():.2f} / {ref.mean():.2f} | "
              f"{f['encodes']:.2f} | {f['scorings']:.2f} | {f['seconds_median']:.2f} |")  # fmt: skip
    return out


def floor_figures(rows: list[dict], judged: Judged) -> dict:
    """Per floor S: total bytes with ≥ 95 % of the photos at S, target mode against each codec's lowest quality."""
    out = {}
    table("floor S | codec | photos ≥ S | total bytes | target mode against it | butteraugli mean / max")
    for s in FLOORS:
        target_bytes = sum(r["target"][s]["bytes"] for r in rows)
        ba = [r["target"][s]["butteraugli"] for r in rows]
        at = float(np.mean([r["target"][s]["reference"] >= s for r in rows]))
        out[s] = {"target": {"bytes": target_bytes, "photos_at_floor": at, "butteraugli": stats(ba)}}
        print(f"| {s} | target mode | {100 * at:.0f} % | {target_bytes:,} | — | {np.mean(ba):.3f} / {np.max(ba):.3f} |")
        for codec in ("jpegli", "mozjpeg", "pillow"):
            share = {q: np.mean([r["fixed"][codec][q]["reference"] >= s for r in rows]) for q in GRID}
            q = next((q for q in GRID if share[q] >= SHARE), None)
            if q is None:
                continue
            total = sum(r["fixed"][codec][q]["bytes"] for r in rows)
            ba = judged(codec, q)
            change = 100 * (target_bytes / total - 1)
            worst = min(rows, key=lambda r, q=q, codec=codec: r["fixed"][codec][q]["reference"])["path"]
            out[s][codec] = {"quality": q, "bytes": total, "target_against_it_percent": round(change, 2),
                             "photos_at_floor": float(share[q]), "butteraugli": stats(ba), "worst": worst}  # fmt: skip
            print(f"| {s} | {codec} q{q} | {100 * share[q]:.0f} % | {total:,} | {change:+.1f} % | "
                  f"{np.mean(ba):.3f} / {np.max(ba):.3f} |")  # fmt: skip
    return out


def default_figures(rows: list[dict], judged: Judged) -> dict:
    """Per q: the look's spread across photos and butteraugli, the default against Pillow and the previous one."""
    out = {}
    table("q | SSIMULACRA2 mean: default / Pillow / previous | 5th percentile: default / Pillow (gain) / previous | "
          "butteraugli mean: default / Pillow / previous | bytes vs Pillow / vs previous")  # fmt: skip
    for q in DEFAULT_QUALITIES:
        cells = {"default": [r["default"][q] for r in rows], "pillow": [r["fixed"]["pillow"][q] for r in rows],
                 "previous": [r["previous"][q] for r in rows]}  # fmt: skip
        look = {k: np.array([c["reference"] for c in v]) for k, v in cells.items()}
        ba = {"default": [c["butteraugli"] for c in cells["default"]], "pillow": judged("pillow", q),
              "previous": [c["butteraugli"] for c in cells["previous"]]}  # fmt: skip
        size = {k: sum(c["bytes"] for c in v) for k, v in cells.items()}
        out[q] = {"ssimulacra2": {k: stats(v) for k, v in look.items()},
                  "butteraugli": {k: stats(v) for k, v in ba.items()}, "bytes": size}  # fmt: skip
        p5 = {k: np.percentile(v, 5) for k, v in look.items()}
        print(f"| {q} | {look['default'].mean():.2f} / {look['pillow'].mean():.2f} / {look['previous'].mean():.2f} | "
              f"{p5['default']:.2f} / {p5['pillow']:.2f} ({p5['default'] - p5['pillow']:+.2f}) / {p5['previous']:.2f} "
              f"| {np.mean(ba['default']):.3f} / {np.mean(ba['pillow']):.3f} / {np.mean(ba['previous']):.3f} | "
              f"{100 * (size['default'] / size['pillow'] - 1):+.1f} % / "
              f"{100 * (size['default'] / size['previous'] - 1):+.1f} % |")  # fmt: skip
    return out


def bd_figures(rows: list[dict], judged: Judged) -> dict:
    """BD-rate of the default against each codec on both judges (average curves over the photos, q30..95;
    butteraugli negated so that higher is better)."""
    from rdjpeg.learned.report import bd_rate

    def curves(cell, codec: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        bpp, look, ba = [], [], []
        for q in DEFAULT_QUALITIES:
            bpp.append(np.mean([8 * cell(r, q)["bytes"] / r["pixels"] for r in rows]))
            look.append(np.mean([cell(r, q)["reference"] for r in rows]))
            ba.append(-np.mean(judged(codec, q) if codec else [cell(r, q)["butteraugli"] for r in rows]))
        return np.array(bpp), np.array(look), np.array(ba)

    ours = curves(lambda r, q: r["default"][q], None)
    # Pillow with optimize=True, progressive=True decodes to Pillow's pixels (libjpeg's entropy options are lossless):
    # its scores, its own sizes.
    optimized = {}
    for r in rows:
        pixels = Image.fromarray(np.asarray(Image.open(r["path"]).convert("RGB")))
        for q in DEFAULT_QUALITIES:
            buf = io.BytesIO()
            pixels.save(buf, "JPEG", quality=q, optimize=True, progressive=True)
            optimized[r["path"], q] = {**r["fixed"]["pillow"][q], "bytes": buf.tell()}
    out = {}
    table("the default against | SSIMULACRA2 (reference) | butteraugli")
    for name in ("pillow", "pillow optimize+progressive", "mozjpeg", "jpegli", "previous"):
        if name == "previous":
            other = curves(lambda r, q: r["previous"][q], None)
        elif name == "pillow optimize+progressive":
            bpp, look, ba = curves(lambda r, q: r["fixed"]["pillow"][q], "pillow")
            bpp = np.array([np.mean([8 * optimized[r["path"], q]["bytes"] / r["pixels"] for r in rows])
                            for q in DEFAULT_QUALITIES])  # fmt: skip
            other = (bpp, look, ba)
        else:
            other = curves(lambda r, q, n=name: r["fixed"][n][q], name)
        bd = [bd_rate(other[0], other[k], ours[0], ours[k]) for k in (1, 2)]
        out[name] = {"ssimulacra2": round(bd[0], 2), "butteraugli": round(bd[1], 2)}
        print(f"| {name} | {bd[0]:+.1f} % | {bd[1]:+.1f} % |")
    return out


def recompress_figures(rows: list[dict]) -> dict:
    out = {}
    table("input | target | bytes in | bytes out | saved | grown | kept losslessly")
    for source_quality, t in RECOMPRESS:
        cells = [c for r in rows for c in r["recompress"] if (c["source_quality"], c["target"]) == (source_quality, t)]
        bytes_in, bytes_out = sum(c["bytes_in"] for c in cells), sum(c["bytes_out"] for c in cells)
        grown, kept = sum(c["bytes_out"] > c["bytes_in"] for c in cells), sum(c["lossless"] for c in cells)
        out[f"q{source_quality}@{t}"] = {"bytes_in": bytes_in, "bytes_out": bytes_out, "grown": grown, "lossless": kept}
        print(f"| Pillow q{source_quality} | {t} | {bytes_in:,} | {bytes_out:,} | "
              f"{100 * (1 - bytes_out / bytes_in):.1f} % | {grown} | {kept} of {len(cells)} |")  # fmt: skip
    return out


def report(rows: list[dict], jobs: int) -> dict:
    """The figures (printed as markdown tables, returned as a dict)."""
    judged = Judged(rows, jobs)
    print(f"\n{len(rows)} photos.")
    return {"photos": len(rows), "targets": target_figures(rows), "floors": floor_figures(rows, judged),
            "default": default_figures(rows, judged), "bd_rate": bd_figures(rows, judged),
            "recompress": recompress_figures(rows)}  # fmt: skip


def crop_figure(rows: list[dict], floors: dict, path: str, s: int = 70) -> None:
    """At floor ``s``, for the worst and the best-served photo of fixed-quality jpegli at its floor quality: the
    original, jpegli's fixed-quality file and the target-mode file, at the photo's region of largest error (of the
    fixed file), 3× nearest-neighbour; each label with the reference score and the file's size."""
    from PIL import ImageDraw

    import rdjpeg
    from rdjpeg.jpeg import jpegli
    from rdjpeg.learned.crops import worst_window

    q = floors[s]["jpegli"]["quality"]
    ordered = sorted(rows, key=lambda r: r["fixed"]["jpegli"][q]["reference"])
    side, scale, pad, gap = 96, 3, 24, 8
    width = side * scale
    figure = Image.new("RGB", (3 * (width + gap), 2 * (width + pad + gap)), "white")
    draw = ImageDraw.Draw(figure)
    for line, row in enumerate((ordered[0], ordered[-1])):
        pixels = np.ascontiguousarray(np.asarray(Image.open(row["path"]).convert("RGB")))
        fixed = decoded(jpegli.encode(pixels, q, progressive=True))
        target = decoded(rdjpeg.encode_to_target(pixels, f"ssimulacra2:{s}").data)
        top, left = worst_window(pixels, fixed, side)
        f, t = row["fixed"]["jpegli"][q], row["target"][s]
        name = os.path.basename(row["path"])
        panels = [(f"{name}, original", pixels), (f"jpegli q{q}: {f['reference']:.1f}, {f['bytes']:,} B", fixed),
                  (f"target {s}: {t['reference']:.1f}, {t['bytes']:,} B", target)]  # fmt: skip
        y = line * (width + pad + gap)
        for i, (label, image) in enumerate(panels):
            crop = Image.fromarray(image[top : top + side, left : left + side]).resize((width,) * 2, Image.NEAREST)
            figure.paste(crop, (i * (width + gap), y + pad))
            draw.text((i * (width + gap) + 2, y + 4), label, fill="black")
    figure.save(path)


def main(argv: list[str] | None = None) -> None:
    global REFERENCE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True)
    parser.add_argument("--reference", required=True, help="libjxl's ssimulacra2 binary")
    parser.add_argument("--previous-map", required=True, help="issue 26's quality-map.json (its 'rgb' map)")
    parser.add_argument("--out", required=True, help="JSON lines, one per photo (resumable)")
    parser.add_argument("--json", help="the figures")
    parser.add_argument("--crops", help="the crop figure (PNG)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--reuse", help="an earlier --out whose fixed-quality and previous-default rows stand")
    args = parser.parse_args(argv)
    REFERENCE = os.environ["SSIMULACRA2_REFERENCE"] = args.reference
    paths = sorted(glob.glob(args.images))
    done = {row["path"] for row in load(args.out)}
    todo = [p for p in paths if p not in done]
    old = {row["path"]: row for row in load(args.reuse)} if args.reuse else {}
    with ProcessPoolExecutor(args.jobs) as pool, open(args.out, "a") as f:
        for row in pool.map(measure, todo, [args.previous_map] * len(todo), [old.get(p) for p in todo]):
            f.write(json.dumps(row) + "\n")
            f.flush()
            print(f"measured {row['path']}", flush=True)
    rows = [r for r in load(args.out) if r["path"] in set(paths)]
    figures = report(rows, args.jobs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": " ".join(["benchmarks/targets.py", *(sys.argv[1:] if argv is None else argv)]),
                       "date": time.strftime("%Y-%m-%d"),
                       **figures}, f, indent=1)  # fmt: skip
            f.write("\n")
    if args.crops:
        crop_figure(rows, figures["floors"], args.crops)


if __name__ == "__main__":
    main()

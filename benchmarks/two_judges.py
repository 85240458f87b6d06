"""Target mode on two judges (issue 31, parts 4 and 6): floors by libjxl's ``ssimulacra2`` binary and by
``butteraugli_main`` (3-norm), against fixed jpegli (4:2:0 and 4:4:4), mozjpeg 5 and Pillow.

Per photo (resumable, one JSON line per photo in ``--out``), real encoders, Pillow's decoder, both judges on every
file:

* ``fixed``: each codec of ``--codecs`` (:data:`CODECS`, rdjpeg's default among them) at each of its qualities:
  bytes, SSIMULACRA2, butteraugli;
* ``target``: target mode at each T of :data:`TARGETS`: bytes, quality, subsampling, encodes, seconds, rdjpeg's
  score and both judges'.

``--fixed-from`` reuses an earlier run's fixed-quality cells, so that only target mode is measured again.
``report`` prints and returns:

* per T, the share of photos in [T, T + 2] by libjxl's binary, the encodes, the share written 4:4:4;
* per floor S of :data:`FLOORS`, on SSIMULACRA2: total bytes with ≥ 95 % of the photos at S or above, target mode
  against each codec's lowest such quality;
* on butteraugli, per T: target mode's worst case (the photo at the 95th percentile, and the worst) against fixed
  jpegli's at the same total bytes (interpolated between its two nearest qualities), and the bytes fixed jpegli needs
  for target mode's 95th percentile (its butteraugli floor);
* the distance ceilings tried (``guard_figures``: target mode's files had no photo been written at a jpegli distance
  above a multiple of the typical photo's, read off the fixed-quality grids), per folder of photos too;
* rdjpeg's default against Pillow at each q and its BD-rate against every codec on both judges.

    .venv/bin/python benchmarks/two_judges.py --images "../shared/data/kodak/*.png" \
        --reference /work/tools/ssimulacra2 --out runs/two-judges-kodak.jsonl \
        --json benchmarks/results/two-judges-kodak.json
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
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

TARGETS = (50, 60, 70, 80, 85, 90, 95)
FLOORS = (60, 70, 80, 85)
SHARE = 0.95  # a floor holds when this share of the photos reaches it
CODECS = {  # name → qualities measured
    "jpegli 4:2:0": tuple(range(20, 101, 2)),
    "jpegli 4:4:4": tuple(range(40, 101, 2)),
    "mozjpeg": tuple(range(30, 101, 2)),
    "pillow": tuple(sorted({*range(30, 101, 2), *range(35, 96, 10)})),
    "default": tuple(range(30, 96, 5)),  # rdjpeg's quality=q
}
JPEGLI = ("jpegli 4:2:0", "jpegli 4:4:4")


def encoder(name: str):
    """The codec's writer, ``(pixels, q) -> bytes``: jpegli as the default writes it (progressive, optimized),
    mozjpeg with cjpeg's defaults, Pillow's own defaults."""
    from rdjpeg.jpeg import jpegli
    from rdjpeg.jpeg.backends import pillow_jpeg_bytes
    from rdjpeg.registry import get_backend

    if name.startswith("jpegli"):
        subsampling = name.split()[1]
        return lambda p, q: jpegli.encode(p, q, progressive=True, subsampling=subsampling)
    if name in ("mozjpeg", "default"):
        return get_backend(name).encode
    return lambda p, q: pillow_jpeg_bytes(Image.fromarray(p), quality=q)


class Judges:
    """Both of libjxl's binaries against one original, kept as a PNG for the photo's lifetime."""

    def __init__(self, pixels: np.ndarray, reference: str, folder: str) -> None:
        self.reference, self.folder = reference, folder
        self.original = os.path.join(folder, "original.png")
        Image.fromarray(pixels).save(self.original)

    def __call__(self, data: bytes) -> dict:
        path = os.path.join(self.folder, "distorted.png")
        Image.open(io.BytesIO(data)).convert("RGB").save(path)
        ss2 = subprocess.run([self.reference, self.original, path], capture_output=True, text=True, check=True)
        ba = subprocess.run(["butteraugli_main", self.original, path, "--pnorm", "3"], capture_output=True, text=True,
                            check=True).stdout.split()  # fmt: skip
        return {"bytes": len(data), "ssimulacra2": round(float(ss2.stdout.split()[-1]), 3),
                "butteraugli": round(float(ba[ba.index("3-norm:") + 1]), 4)}  # fmt: skip


def measure(task: tuple[str, list[str], list[int], str]) -> dict:
    """One photo's row (module docstring)."""
    import rdjpeg

    path, codecs, targets, reference = task
    pixels = np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB")))
    row: dict = {"path": path, "pixels": int(pixels.shape[0] * pixels.shape[1]), "fixed": {}, "target": {}}
    with tempfile.TemporaryDirectory() as folder:
        judge = Judges(pixels, reference, folder)
        for name in codecs:
            write = encoder(name)
            row["fixed"][name] = {q: judge(write(pixels, q)) for q in CODECS[name]}
        for t in targets:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = rdjpeg.encode_to_target(pixels, f"ssimulacra2:{t}")
            seconds = time.perf_counter() - start
            layer = Image.open(io.BytesIO(found.data)).layer[0][1:3]
            row["target"][t] = {**judge(found.data), "quality": found.quality, "score": found.score,
                                "encodes": found.encodes, "seconds": round(seconds, 3),
                                "subsampling": "4:2:0" if layer == (2, 2) else "4:4:4"}  # fmt: skip
    return row


def load(out: str) -> list[dict]:
    rows = []
    if os.path.exists(out):
        with open(out) as f:
            for row in map(json.loads, f):
                row["target"] = {int(k): v for k, v in row["target"].items()}
                row["fixed"] = {c: {int(k): v for k, v in d.items()} for c, d in row["fixed"].items()}
                rows.append(row)
    return rows


def worst(values, share: float = SHARE) -> float:
    """The value that ``share`` of the photos stay at or under (butteraugli: lower is better; nearest rank)."""
    v = np.sort(np.asarray(values, np.float64))
    return float(v[min(len(v) - 1, int(np.ceil(share * len(v))) - 1)])


def lowest(values, share: float = SHARE) -> float:
    """The value that ``share`` of the photos reach or pass (SSIMULACRA2: higher is better)."""
    return -worst(-np.asarray(values, np.float64), share)


def at_quality(row: dict, codec: str, q: float) -> dict | None:
    """A photo's fixed-quality cell of ``codec`` at quality ``q``, linear between the two measured around it (None
    outside them)."""
    grid = CODECS[codec]
    if not grid[0] <= q <= grid[-1]:
        return None
    i = max(1, int(np.searchsorted(grid, q)))
    w = (q - grid[i - 1]) / (grid[i] - grid[i - 1])
    lo, hi = row["fixed"][codec][grid[i - 1]], row["fixed"][codec][grid[i]]
    return {k: (1 - w) * lo[k] + w * hi[k] for k in ("bytes", "ssimulacra2", "butteraugli")}


def fixed_cells(rows: list[dict], codec: str, q: float) -> list[dict]:
    """Every photo's cell of fixed ``codec`` at a quality of its grid, or between two (:func:`at_quality`)."""
    return [at_quality(r, codec, q) for r in rows]


def lowest_passing(rows: list[dict], codec: str, passes) -> tuple[float, int] | None:
    """(quality, total bytes) of ``codec``'s lowest quality at which ``passes(cells)`` holds, bisected between the
    measured qualities (each photo's cell linear between them: a fixed quality as good as can be set, which favours
    the fixed codec over its integer qualities); None when no measured quality passes."""
    grid = CODECS[codec]
    i = next((i for i, q in enumerate(grid) if passes(fixed_cells(rows, codec, q))), None)
    if i is None:
        return None
    lo, hi = (grid[i - 1], grid[i]) if i else (grid[0], grid[0])
    for _ in range(20):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if passes(fixed_cells(rows, codec, mid)) else (mid, hi)
    return round(hi, 2), round(sum(c["bytes"] for c in fixed_cells(rows, codec, hi)))


def fixed_at_bytes(rows: list[dict], codec: str, total: float) -> dict | None:
    """Fixed ``codec`` at the quality whose total bytes are ``total`` (:func:`lowest_passing`): its quality and each
    photo's scores; None outside the measured range."""
    found = lowest_passing(rows, codec, lambda cells: sum(c["bytes"] for c in cells) >= total)
    if found is None or (found[0] == CODECS[codec][0] and found[1] > total):
        return None
    cells = fixed_cells(rows, codec, found[0])
    return {"quality": found[0], **{judge: [c[judge] for c in cells] for judge in ("ssimulacra2", "butteraugli")}}


def table(header: str) -> None:
    print(f"\n| {header} |\n|" + "---|" * (header.count("|") + 1))


def target_figures(rows: list[dict]) -> dict:
    out = {}
    table("T | in [T, T+2] by libjxl | libjxl: min / mean / max | encodes | 4:4:4 | median seconds")
    for t in sorted(rows[0]["target"]):
        cells = [r["target"][t] for r in rows]
        ref = np.array([c["ssimulacra2"] for c in cells])
        figures = {"in_window": round(float(np.mean((ref >= t) & (ref <= t + 2))), 3),
                   "libjxl": [round(float(f(ref)), 2) for f in (np.min, np.mean, np.max)],
                   "encodes": round(float(np.mean([c["encodes"] for c in cells])), 2),
                   "share_444": round(float(np.mean([c["subsampling"] == "4:4:4" for c in cells])), 3),
                   "seconds_median": round(float(np.median([c["seconds"] for c in cells])), 3)}  # fmt: skip
        out[t] = figures
        print(
            f"| {t} | {figures['in_window']:.1%} | {' / '.join(f'{v:.2f}' for v in figures['libjxl'])} | "
            f"{figures['encodes']:.2f} | {figures['share_444']:.0%} | {figures['seconds_median']:.2f} |"
        )
    return out


def floor_figures(rows: list[dict]) -> dict:
    """SSIMULACRA2 floors: target mode at S against each codec's lowest quality with 95 % of the photos at S."""
    out = {}
    table("floor S | target mode: bytes / butteraugli p95 | " + " | ".join(f"{c}: q / bytes / target against it"
                                                                            for c in rows[0]["fixed"]))  # fmt: skip
    for s in FLOORS:
        if s not in rows[0]["target"]:
            continue
        cells = [r["target"][s] for r in rows]
        total = sum(c["bytes"] for c in cells)
        out[s] = {"target": {"bytes": total, "ssimulacra2_p5": round(lowest([c["ssimulacra2"] for c in cells]), 2),
                             "butteraugli_p95": round(worst([c["butteraugli"] for c in cells]), 3)}}  # fmt: skip
        line = [f"{total:,} / {out[s]['target']['butteraugli_p95']:.3f}"]
        for codec in rows[0]["fixed"]:
            found = lowest_passing(rows, codec, lambda cs, s=s: lowest([c["ssimulacra2"] for c in cs]) >= s)
            if found is None:
                line.append("—")
                continue
            q, fixed = found
            change = 100 * (total / fixed - 1)
            cells_q = fixed_cells(rows, codec, q)
            out[s][codec] = {"quality": q, "bytes": fixed, "target_against_it_percent": round(change, 2),
                             "butteraugli_p95": round(worst([c["butteraugli"] for c in cells_q]), 3)}  # fmt: skip
            line.append(f"q{q:.1f} / {fixed:,} / {change:+.1f} %")
        print(f"| {s} | " + " | ".join(line) + " |")
    return out


def butteraugli_figures(rows: list[dict]) -> dict:
    """Target mode's butteraugli worst case against fixed jpegli's at the same total bytes, and butteraugli floors:
    the bytes fixed jpegli needs for target mode's 95th percentile."""
    out = {}
    table(
        "T | target mode: bytes / butteraugli p95 / max | "
        + " | ".join(f"{c} at equal bytes: q / p95 / max | {c} at the same p95: q / target against it" for c in JPEGLI)
    )
    for t in sorted(rows[0]["target"]):
        cells = [r["target"][t] for r in rows]
        total = sum(c["bytes"] for c in cells)
        ba = [c["butteraugli"] for c in cells]
        figures = {"bytes": total, "butteraugli_p95": round(worst(ba), 3), "butteraugli_max": round(max(ba), 3)}
        line = [f"{total:,} / {figures['butteraugli_p95']:.3f} / {figures['butteraugli_max']:.3f}"]
        for codec in JPEGLI:
            if codec not in rows[0]["fixed"]:
                continue
            same = fixed_at_bytes(rows, codec, total)
            if same is not None:
                figures[codec] = {"quality": same["quality"], "butteraugli_p95": round(worst(same["butteraugli"]), 3),
                                  "butteraugli_max": round(max(same["butteraugli"]), 3)}  # fmt: skip
                line.append(f"q{same['quality']:.1f} / {figures[codec]['butteraugli_p95']:.3f} / "
                            f"{figures[codec]['butteraugli_max']:.3f}")  # fmt: skip
            else:
                line.append("—")
            found = lowest_passing(
                rows, codec, lambda cs, d=figures["butteraugli_p95"]: worst([c["butteraugli"] for c in cs]) <= d
            )
            if found is not None:
                change = 100 * (total / found[1] - 1)
                figures[codec + " floor"] = {"quality": found[0], "bytes": found[1],
                                             "target_against_it_percent": round(change, 2)}  # fmt: skip
                line.append(f"q{found[0]:.1f} / {change:+.1f} %")
            else:
                line.append("—")
        out[t] = figures
        print(f"| {t} | " + " | ".join(line) + " |")
    return out


def floored(rows: list[dict], t: int, ratio: float) -> list[dict]:
    """Target mode's cells at T had no photo been given a jpegli distance above ``1 + ratio`` times the distance of
    the quality at which the training photos' mean curve (of the subsampling chosen) reaches the search's aim: the
    cells of the lowest quality within it, read off the photo's fixed-quality grid, where it is above the quality
    target mode chose."""
    from rdjpeg.jpeg.jpegli import distance
    from rdjpeg.look import look, lowest_quality
    from rdjpeg.targets import aim, parse_target

    goal = aim(parse_target(f"ssimulacra2:{t}"))
    out = []
    for row in rows:
        cell = row["target"][t]
        typical = distance(lowest_quality(look().ssimulacra2(None, cell["subsampling"]), goal))
        least = next(q for q in range(1, 101) if distance(q) <= (1 + ratio) * typical)
        raised = at_quality(row, "jpegli " + cell["subsampling"], least) if cell["quality"] < least else None
        out.append(raised or cell)
    return out


def savings(rows: list[dict], cells: list[dict], t: int) -> tuple[float, float]:
    """Bytes of ``cells`` (target mode's files at T, one per photo) against the smaller fixed jpegli (4:2:0 or
    4:4:4) on each judge's floor: 95 % of the photos at SSIMULACRA2 ≥ T; and 95 % at butteraugli ≤ the cells' own
    95th percentile (percent; nan where no measured quality holds the floor)."""
    total = sum(c["bytes"] for c in cells)
    d = worst([c["butteraugli"] for c in cells])
    out = []
    for _judge, passes in (("ssimulacra2", lambda cs: lowest([c["ssimulacra2"] for c in cs]) >= t),
                          ("butteraugli", lambda cs: worst([c["butteraugli"] for c in cs]) <= d)):  # fmt: skip
        found = [f[1] for codec in JPEGLI if codec in rows[0]["fixed"] if (f := lowest_passing(rows, codec, passes))]
        out.append(100 * (total / min(found) - 1) if found else float("nan"))
    return out[0], out[1]


def guard_figures(rows: list[dict], ratios=(0, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)) -> dict:
    """Per T and distance ceiling (:func:`floored`): target mode's bytes against the best fixed jpegli on the
    SSIMULACRA2 floor / on the butteraugli floor."""
    out = {}
    table("T | no ceiling | " + " | ".join(f"distance ≤ {1 + r:g}× typical" for r in ratios))
    for t in sorted(rows[0]["target"]):
        variants = {"none": [r["target"][t] for r in rows]} | {str(r): floored(rows, t, r) for r in ratios}
        out[t] = {name: [round(v, 2) for v in savings(rows, cells, t)] for name, cells in variants.items()}
        print(f"| {t} | " + " | ".join(f"{a:+.1f} / {b:+.1f} %" for a, b in out[t].values()) + " |")
    return out


def optimized_curve(rows: list[dict]) -> tuple[np.ndarray, ...]:
    """Pillow with ``optimize=True, progressive=True`` at the default's qualities: its own sizes and Pillow's scores
    (libjpeg's entropy options are lossless: the pixels are Pillow's)."""
    from rdjpeg.jpeg.backends import pillow_jpeg_bytes

    images = {r["path"]: Image.fromarray(np.asarray(Image.open(r["path"]).convert("RGB"))) for r in rows}
    qualities = CODECS["default"]
    bpp = [np.mean([8 * len(pillow_jpeg_bytes(images[r["path"]], quality=q, optimize=True, progressive=True))
                    / r["pixels"] for r in rows]) for q in qualities]  # fmt: skip
    look = [np.mean([r["fixed"]["pillow"][q]["ssimulacra2"] for r in rows]) for q in qualities]
    ba = [-np.mean([r["fixed"]["pillow"][q]["butteraugli"] for r in rows]) for q in qualities]
    return np.array(bpp), np.array(look), np.array(ba)


def default_figures(rows: list[dict]) -> dict:
    """rdjpeg's default at Pillow's q against Pillow's JPEG at q (each judge's mean, SSIMULACRA2's 5th percentile,
    bytes), and its BD-rate on each judge against each codec (average curves, the codecs' qualities 30..96;
    butteraugli negated so that higher is better)."""
    from rdjpeg.learned.report import bd_rate

    if "default" not in rows[0]["fixed"] or "pillow" not in rows[0]["fixed"]:
        return {}
    out = {"by_quality": {}, "bd_rate": {}}
    table("q | SSIMULACRA2 mean: default / Pillow | 5th percentile: default / Pillow (gain) | butteraugli mean: "
          "default / Pillow | bytes against Pillow")  # fmt: skip
    for q in CODECS["default"]:
        ours, theirs = ([r["fixed"][c][q] for r in rows] for c in ("default", "pillow"))
        look = {name: np.array([c["ssimulacra2"] for c in cells]) for name, cells in (("default", ours),
                                                                                       ("pillow", theirs))}  # fmt: skip
        p5 = {k: float(np.percentile(v, 5)) for k, v in look.items()}
        ba = [float(np.mean([c["butteraugli"] for c in cells])) for cells in (ours, theirs)]
        change = 100 * (sum(c["bytes"] for c in ours) / sum(c["bytes"] for c in theirs) - 1)
        out["by_quality"][q] = {"mean": [round(float(look[k].mean()), 2) for k in look],
                                "p5": [round(p5[k], 2) for k in look], "butteraugli_mean": [round(v, 3) for v in ba],
                                "bytes_against_pillow_percent": round(change, 2)}  # fmt: skip
        print(
            f"| {q} | {look['default'].mean():.1f} / {look['pillow'].mean():.1f} | {p5['default']:.1f} / "
            f"{p5['pillow']:.1f} ({p5['default'] - p5['pillow']:+.1f}) | {ba[0]:.3f} / {ba[1]:.3f} | {change:+.1f} % |"
        )

    def curve(codec: str) -> tuple[np.ndarray, ...]:
        qualities = [q for q in CODECS[codec] if 30 <= q <= 96]
        bpp = [np.mean([8 * r["fixed"][codec][q]["bytes"] / r["pixels"] for r in rows]) for q in qualities]
        look = [np.mean([r["fixed"][codec][q]["ssimulacra2"] for r in rows]) for q in qualities]
        ba = [-np.mean([r["fixed"][codec][q]["butteraugli"] for r in rows]) for q in qualities]
        return np.array(bpp), np.array(look), np.array(ba)

    ours = curve("default")
    table("the default against | SSIMULACRA2 | butteraugli")
    for codec in [*rows[0]["fixed"], "pillow optimized"]:
        if codec == "default":
            continue
        other = optimized_curve(rows) if codec == "pillow optimized" else curve(codec)
        bd = [round(float(bd_rate(other[0], other[k], ours[0], ours[k])), 2) for k in (1, 2)]
        out["bd_rate"][codec] = {"ssimulacra2": bd[0], "butteraugli": bd[1]}
        print(f"| {codec} | {bd[0]:+.1f} % | {bd[1]:+.1f} % |")
    return out


def report(rows: list[dict]) -> dict:
    """Every figure of the module docstring; the guards also per folder of photos when they come from several (the
    set a ceiling was chosen on, and the one left out)."""
    print(f"\n{len(rows)} photos.")
    out = {
        "photos": len(rows),
        "targets": target_figures(rows),
        "floors": floor_figures(rows),
        "butteraugli": butteraugli_figures(rows),
        "guards": guard_figures(rows),
        "default": default_figures(rows),
    }
    sets = sorted({os.path.basename(os.path.dirname(r["path"])) for r in rows})
    if len(sets) > 1:
        for name in sets:
            part = [r for r in rows if os.path.basename(os.path.dirname(r["path"])) == name]
            print(f"\n{name}, {len(part)} photos:")
            out[f"guards {name}"] = guard_figures(part)
    return out


def crop_figure(before: list[dict], after: list[dict], path: str, t: int = 70) -> None:
    """At T, the photo the distance ceiling raised most: the original, target mode's file without the ceiling
    (``before``'s rows) and with it (``after``'s), and fixed jpegli 4:2:0 at the SSIMULACRA2 floor's quality (the
    measured one above it), at the region of largest error of the file without the ceiling, 3× nearest-neighbour;
    each label: quality, libjxl's SSIMULACRA2, butteraugli, bytes."""
    from PIL import ImageDraw

    from rdjpeg.images import decode_jpeg
    from rdjpeg.jpeg import jpegli
    from rdjpeg.learned.crops import worst_window

    old = {r["path"]: r for r in before}
    row = max(after, key=lambda r: r["target"][t]["bytes"] / old[r["path"]]["target"][t]["bytes"])
    floor = lowest_passing(before, "jpegli 4:2:0", lambda cs: lowest([c["ssimulacra2"] for c in cs]) >= t)[0]
    fixed_q = next(q for q in CODECS["jpegli 4:2:0"] if q >= floor)
    pixels = np.ascontiguousarray(np.asarray(Image.open(row["path"]).convert("RGB")))
    cells = [
        ("no ceiling", old[row["path"]]["target"][t]),
        ("ceiling", row["target"][t]),
        ("fixed jpegli", {**row["fixed"]["jpegli 4:2:0"][fixed_q], "quality": fixed_q, "subsampling": "4:2:0"}),
    ]
    files = [jpegli.encode(pixels, c["quality"], progressive=True, subsampling=c["subsampling"]) for _, c in cells]
    decoded = [decode_jpeg(data, False) for data in files]
    side, scale, pad, gap = 96, 3, 28, 8
    top, left = worst_window(pixels, decoded[0], side)
    width = side * scale
    figure = Image.new("RGB", (4 * (width + gap), width + pad), "white")
    draw = ImageDraw.Draw(figure)
    labels = [f"{os.path.basename(row['path'])}, T = {t}"] + [
        f"{name} q{c['quality']}: {c['ssimulacra2']:.1f} / {c['butteraugli']:.2f}, {c['bytes']:,} B"
        for name, c in cells]  # fmt: skip
    for i, (label, image) in enumerate(zip(labels, [pixels, *decoded], strict=True)):
        crop = Image.fromarray(image[top : top + side, left : left + side]).resize((width,) * 2, Image.NEAREST)
        figure.paste(crop, (i * (width + gap), pad))
        draw.text((i * (width + gap) + 2, 8), label, fill="black")
    figure.save(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="+", required=True, help="globs of PNG photos")
    parser.add_argument("--every", type=int, default=1, help="every n-th photo of each glob (a subset)")
    parser.add_argument("--reference", required=True, help="libjxl's ssimulacra2 binary")
    parser.add_argument("--codecs", nargs="*", default=list(CODECS), choices=list(CODECS))
    parser.add_argument("--fixed-from", help="an earlier --out whose fixed-quality cells stand (they do not depend on "
                        "rdjpeg's target mode): only target mode is measured again")  # fmt: skip
    parser.add_argument("--targets", nargs="+", type=int, default=list(TARGETS))
    parser.add_argument("--out", required=True, help="JSON lines, one per photo (resumable)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", help="the figures")
    parser.add_argument("--crops", help="with --fixed-from: the crop figure of the ceiling at T = 70 (PNG)")
    args = parser.parse_args(argv)
    paths = [p for pattern in args.images for p in sorted(glob.glob(pattern))[:: args.every]]
    done = {row["path"] for row in load(args.out)}
    tasks = [(p, args.codecs, args.targets, args.reference) for p in paths if p not in done]
    with ProcessPoolExecutor(args.jobs) as pool, open(args.out, "a") as f:
        for row in pool.map(measure, tasks):
            f.write(json.dumps(row) + "\n")
            f.flush()
            print(f"measured {row['path']}", flush=True)
    rows = [r for r in load(args.out) if r["path"] in set(paths)]
    if args.fixed_from:
        earlier = load(args.fixed_from)
        fixed = {r["path"]: r["fixed"] for r in earlier}
        rows = [{**r, "fixed": {**fixed[r["path"]], **r["fixed"]}} for r in rows if r["path"] in fixed]
        if args.crops:
            crop_figure(earlier, rows, args.crops)
    figures = report(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": " ".join(["benchmarks/two_judges.py", *(sys.argv[1:] if argv is None else argv)]),
                       "date": time.strftime("%Y-%m-%d"), **figures}, f, indent=1)  # fmt: skip
            f.write("\n")


if __name__ == "__main__":
    main()

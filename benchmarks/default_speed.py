"""The default at the encoder's own speed (issue 26): time, memory and bytes side by side in one run, medians.

* ``save``: a 768×512 photo saved with ``img.save(buf, "RDJPEG", quality=q)`` beside Pillow's JPEG (plain and
  ``optimize=True, progressive=True``), pyjpegli alone, the default's encoder alone (jpegli's progressive file at a
  fixed quality: the save without the look's features), mozjpeg 5 with cjpeg's defaults and the previous default's
  path (two jpegli encodes, then mozjpeg-lossless-optimization's pass); rounds interleaved.
* ``first``: the first save in a fresh process (imports included): wall time and peak RSS, RDJPEG against JPEG.
* ``cli``: ``rdjpeg compress one.png -o one.jpg`` against a Python one-liner that opens and saves it with Pillow.
* ``large``: a 24-megapixel save in a fresh process: seconds and peak RSS, the default against Pillow's JPEG.
* ``transform``: ``RDJPEG(quality=q)`` on a 224×224 uint8 tensor against torchvision's ``v2.JPEG``.
* ``target``: ``rdjpeg.encode_to_target(photo, "ssimulacra2:T")`` at T = 50..90, beside one default save, with
  the encodes and scorings it took.
* ``jobs``: ``rdjpeg compress --jobs 1`` and ``--jobs 2`` on 48 Kodak-size photos.
* ``bytes``: the default's files against the previous pass's (jpegli's baseline file at the same quality through
  mozjpeg-lossless-optimization) over ``--images``, at Pillow qualities 30..95, and whether the pixels are equal.

    .venv/bin/python benchmarks/default_speed.py --photo ../shared/data/kodak/kodim05.png \
        --images "../shared/data/kodak/*.png" --json benchmarks/results/default-speed.json
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

PYTHON = sys.executable
RDJPEG = os.path.join(os.path.dirname(PYTHON), "rdjpeg")
# Fresh processes import from bytecode caches, as an installed package does: without them every start compiles
# rdjpeg's sources again (about 30 ms), which is not what a user's second run costs.
CHILD_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def interleaved(jobs: dict, rounds: int) -> dict[str, float]:
    """Median milliseconds of each job, the jobs run in turn each round (drift hits all alike)."""
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for job in jobs.values():
        job()  # warm-up
    for _ in range(rounds):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def previous_default(pixels: np.ndarray, quality: int) -> bytes:
    """The previous default's file: jpegli's baseline file at the default's quality, then mozjpeg's lossless pass."""
    import mozjpeg_lossless_optimization

    from rdjpeg.jpeg import jpegli
    from rdjpeg.registry import get_backend

    chosen = get_backend("default").encoder_settings(pixels, quality, "4:2:0")[0]  # its probe encode, as before
    return mozjpeg_lossless_optimization.optimize(jpegli.encode(pixels, chosen))


def save(photo: str, quality: int, rounds: int) -> dict:
    import pyjpegli
    import pyvips

    import rdjpeg_plugins  # noqa: F401
    from rdjpeg.jpeg import jpegli

    im = Image.open(photo).convert("RGB")
    pixels = np.asarray(im)

    def vips():
        image = pyvips.Image.new_from_memory(pixels.data, im.width, im.height, 3, "uchar")
        return image.jpegsave_buffer(Q=quality, optimize_coding=True, trellis_quant=True, overshoot_deringing=True,
                                     interlace=True, optimize_scans=True, keep="none")  # fmt: skip

    return interleaved({
        "rdjpeg default (Pillow save)": lambda: im.save(io.BytesIO(), "RDJPEG", quality=quality),
        "Pillow optimize+progressive": lambda: im.save(io.BytesIO(), "JPEG", quality=quality, optimize=True,
                                                       progressive=True),
        "Pillow": lambda: im.save(io.BytesIO(), "JPEG", quality=quality),
        "pyjpegli alone": lambda: pyjpegli.encode(pixels.tobytes(), im.width, im.height, quality),
        "the default's encoder alone (jpegli progressive, no look)": lambda: jpegli.encode(pixels, quality, True),
        "mozjpeg 5 (cjpeg defaults)": vips,
        "previous default's path": lambda: previous_default(pixels, quality),
    }, rounds)  # fmt: skip


# The child's own peak: Linux keeps ru_maxrss across exec, so a child of this (large) process would report ours.
PEAK_MB = "next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM')) / 1024"

FIRST = f"""
import io, sys, time
start = time.perf_counter()
from PIL import Image
{{imports}}
Image.open(sys.argv[1]).convert("RGB").save(io.BytesIO(), {{format!r}}, quality=75)
print(time.perf_counter() - start, {PEAK_MB})
"""


def child(code: str, *args: str) -> list[float]:
    done = subprocess.run([PYTHON, "-c", code, *args], capture_output=True, text=True, check=True, env=CHILD_ENV)
    return [float(v) for v in done.stdout.split()]


def first(photo: str, rounds: int) -> dict:
    out = {}
    for name, imports, fmt in (("RDJPEG", "import rdjpeg_plugins", "RDJPEG"), ("JPEG", "", "JPEG")):
        runs = [child(FIRST.format(imports=imports, format=fmt), photo) for _ in range(rounds)]
        out[name] = {"ms": 1000 * statistics.median(r[0] for r in runs), "peak_rss_mb": max(r[1] for r in runs)}
    return out


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=CHILD_ENV)
    return time.perf_counter() - start


def cli(photo: str, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "one.jpg")
        commands = {
            "rdjpeg compress": [RDJPEG, "compress", photo, "-o", out, "--overwrite", "--quiet"],
            "Pillow one-liner": [PYTHON, "-c", f"from PIL import Image; Image.open({photo!r}).save({out!r}, "
                                 "quality=75)"],
        }  # fmt: skip
        times = {name: [] for name in commands}
        for _ in range(rounds):
            for name, command in commands.items():
                times[name].append(wall(command))
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


LARGE = f"""
import io, sys, time
import numpy as np
from PIL import Image
import rdjpeg_plugins
rng = np.random.default_rng(0)
image = Image.fromarray(rng.integers(0, 256, (500, 750, 3), dtype=np.uint8)).resize((6000, 4000), Image.BICUBIC)
before = {PEAK_MB}
start = time.perf_counter()
image.save(io.BytesIO(), sys.argv[1], quality=75)
print(time.perf_counter() - start, {PEAK_MB}, before)
"""


def large() -> dict:
    out = {}
    for fmt in ("RDJPEG", "JPEG"):
        seconds, peak, before = child(LARGE, fmt)
        out[fmt] = {"seconds": seconds, "peak_rss_mb": peak, "rss_before_save_mb": before}
    return out


def transform(quality: int, rounds: int) -> dict:
    import torch
    from torchvision.transforms import v2

    from rdjpeg_plugins.torchvision import RDJPEG

    x = torch.from_numpy(np.asarray(Image.open(io.BytesIO(_photo_png())).convert("RGB").resize((224, 224))).copy())
    x = x.permute(2, 0, 1).contiguous()
    ours, theirs = RDJPEG(quality=quality), v2.JPEG(quality=quality)
    return interleaved({"RDJPEG": lambda: ours(x), "v2.JPEG": lambda: theirs(x)}, rounds)


def target(photo: str, rounds: int) -> dict:
    import rdjpeg

    pixels = np.asarray(Image.open(photo).convert("RGB"))
    out = {}
    for t in (50, 60, 70, 80, 90):
        found = rdjpeg.encode_to_target(pixels, f"ssimulacra2:{t}")
        times = interleaved({"target": lambda t=t: rdjpeg.encode_to_target(pixels, f"ssimulacra2:{t}"),
                             "default": lambda: rdjpeg.encode(pixels, 75)}, rounds)  # fmt: skip
        out[t] = {"ms": times["target"], "default_ms": times["default"], "encodes": found.encodes,
                  "scorings": found.scorings, "score": found.score}  # fmt: skip
    return out


def _photo_png() -> bytes:
    from importlib.resources import files

    return files("rdjpeg.samples").joinpath("parrots.png").read_bytes()


def jobs(images: list[str], copies: int = 2) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        inputs = os.path.join(folder, "in")
        for copy in range(copies):
            os.makedirs(os.path.join(inputs, str(copy)))
            for path in images:
                shutil.copy(path, os.path.join(inputs, str(copy)))
        out = {}
        for n in (1, 2, 1, 2):  # twice each, interleaved: the faster of two
            seconds = wall([RDJPEG, "compress", inputs, "-o", os.path.join(folder, f"j{n}-{len(out)}"), "--jobs",
                            str(n), "--quiet"])  # fmt: skip
            out[f"--jobs {n}"] = min(seconds, out.get(f"--jobs {n}", seconds))
    return {"images": copies * len(images), **out}


def bytes_against_previous(images: list[str]) -> dict:
    import rdjpeg

    rows = {}
    for q in range(30, 100, 5):
        ours = previous = 0
        same = True
        for path in images:
            pixels = np.asarray(Image.open(path).convert("RGB"))
            data, before = rdjpeg.encode(pixels, q), previous_default(pixels, q)
            ours, previous = ours + len(data), previous + len(before)
            same &= np.array_equal(np.asarray(Image.open(io.BytesIO(data))), np.asarray(Image.open(io.BytesIO(before))))
        rows[q] = {"bytes": ours, "previous_bytes": previous, "change_percent": 100 * (ours / previous - 1),
                   "same_pixels": bool(same)}  # fmt: skip
    total = sum(r["bytes"] for r in rows.values()) / sum(r["previous_bytes"] for r in rows.values())
    return {"per_quality": rows, "total_change_percent": 100 * (total - 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", required=True, help="a 768×512 photo")
    parser.add_argument("--images", required=True, help="a glob of photos for the jobs and bytes figures")
    parser.add_argument("--quality", type=int, default=75)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--only", help="comma-separated: save,first,cli,large,transform,target,jobs,bytes")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    images = sorted(glob.glob(args.images))
    figures = {
        "save": lambda: save(args.photo, args.quality, args.rounds),
        "first": lambda: first(args.photo, 5),
        "cli": lambda: cli(args.photo, 9),
        "large": large,
        "transform": lambda: transform(args.quality, 4 * args.rounds),
        "target": lambda: target(args.photo, 9),
        "jobs": lambda: jobs(images),
        "bytes": lambda: bytes_against_previous(images),
    }
    chosen = args.only.split(",") if args.only else list(figures)
    results = {"date": time.strftime("%Y-%m-%d"), "command": " ".join(sys.argv)}
    for name in chosen:
        results[name] = figures[name]()
        print(name, json.dumps(results[name], indent=1), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()

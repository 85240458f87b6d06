"""Targets at camera scale (issue 31): time, CPU time and peak RSS side by side in one run, the scorer and search
before (``--before``, a git revision: its ``core/scores.py`` and ``core/targets.py``) and now.

* ``large``: a 24-megapixel photo (the landscape Kodak photos tiled 8×8, cropped to 6000×4000), each measure in a fresh
  process, in turn for ``--rounds`` rounds: ``rdjpeg.encode(photo, 75)`` (the default save), jpegli alone (the
  default's encoder at the quality that save chose), ``encode_to_target(photo, "ssimulacra2:T")`` now and before, one
  scoring now and before (the default save's file, decoded, against the photo), and libjxl's own ``ssimulacra2`` on
  the same pair as PNG files, decoding included (``--reference``, when given).
* ``small``: ``encode_to_target`` of 768×512 Kodak photos, now and before, interleaved: median milliseconds.
* ``accuracy``: the score now against before and against before computed in float64, Kodak through Pillow's JPEG.
* ``batch``: ``rdjpeg compress --target --jobs 2`` on a folder of 24-megapixel PNGs (the tiling started at other
  photos): wall time and the process's peak RSS.
* ``guards``: the score now and before minus libjxl's binary (``--reference``) on training photos (``--train``)
  through jpegli at qualities 35..98: per look of :data:`rdjpeg.targets.GUARD_BELOW`, the 95th percentile of the
  difference within ±3 points of it, beside the guard.

    .venv/bin/python benchmarks/target_scale.py --images "../shared/data/kodak/*.png" \\
        --reference /work/tools/ssimulacra2 --json benchmarks/results/target-scale.json
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types

import numpy as np
from PIL import Image

PYTHON = sys.executable
BEFORE = "f4a62ce"  # the last commit before issue 31


def photo(paths: list[str], first: int = 0, height: int = 4000, width: int = 6000) -> np.ndarray:
    """The landscape photos among ``paths`` tiled row by row (from the ``first``), cropped to height × width."""
    tiles = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(paths)]
    tiles = [t for t in tiles if t.shape[0] < t.shape[1]]
    th, tw = tiles[0].shape[:2]
    rows, cols = -(-height // th), -(-width // tw)
    grid = [np.concatenate([tiles[(first + r * cols + c) % len(tiles)] for c in range(cols)], 1) for r in range(rows)]
    return np.ascontiguousarray(np.concatenate(grid, 0)[:height, :width])


def module_at(revision: str, name: str, edit=lambda source: source) -> types.ModuleType:
    """The module ``rdjpeg.<name>`` as it was at the git ``revision`` (its relative imports: today's), its source
    changed by ``edit``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source = subprocess.run(["git", "-C", root, "show", f"{revision}:core/{name}.py"], capture_output=True, text=True,
                            check=True).stdout  # fmt: skip
    module = types.ModuleType(f"rdjpeg._{name}_at_{revision}")
    module.__package__ = "rdjpeg"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(edit(source), f"{revision}:core/{name}.py", "exec"), module.__dict__)
    return module


def before_modules(revision: str) -> tuple[types.ModuleType, types.ModuleType]:
    """``rdjpeg.scores`` and ``rdjpeg.targets`` as they were at ``revision``."""
    return module_at(revision, "scores"), module_at(revision, "targets")


def use_before(revision: str) -> None:
    """Make the default backend's target mode score and search as at ``revision`` (no sample first)."""
    from rdjpeg.jpeg import backends

    scores, targets = before_modules(revision)
    backends.SSIMULACRA2, backends.search, backends.SAMPLE_FROM = scores.SSIMULACRA2, targets.search, float("inf")


def child(args: argparse.Namespace) -> None:
    """One measure in this fresh process: prints {"seconds", "cpu_seconds", "peak_rss_mb", ...} as JSON."""
    import rdjpeg
    from rdjpeg.registry import get_backend

    pixels = np.load(args.photo)
    kind, out = args.child, {}
    if kind.endswith("-before"):
        use_before(args.before)
    if kind.startswith("score"):
        from rdjpeg.scores import SSIMULACRA2

        scorer = before_modules(args.before)[0].SSIMULACRA2 if kind.endswith("-before") else SSIMULACRA2
        decoded = np.load(args.photo.replace("photo", "decoded"))
    if kind == "jpegli":
        default = get_backend("default")
        quality, _ = default.encoder_settings(pixels, 75)  # (quality, subsampling): 4:2:0 at q75
    start, cpu = time.perf_counter(), time.process_time()
    if kind == "save":
        out["bytes"] = len(rdjpeg.encode(pixels, 75))
    elif kind == "jpegli":
        out["bytes"] = len(default.jpegli.write(pixels, quality, optimize=True))
    elif kind.startswith("target"):
        found = rdjpeg.encode_to_target(pixels, f"ssimulacra2:{args.target}")
        out.update(bytes=len(found.data), quality=found.quality, score=found.score, encodes=found.encodes,
                   scorings=found.scorings)  # fmt: skip
    elif kind.startswith("score"):
        out["score"] = scorer(pixels)(decoded)
    out.update(seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # fmt: skip
    print(json.dumps(out))


def run_child(args: argparse.Namespace, kind: str, path: str) -> dict:
    command = [PYTHON, __file__, "--child", kind, "--photo", path, "--before", args.before, "--target",
               str(args.target)]  # fmt: skip
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])


def timed_process(command: list[str]) -> dict:
    """Wall seconds and peak RSS of a command run to its end."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    out = process.stdout.read().decode() + process.stderr.read().decode()
    if process.returncode:
        raise RuntimeError(f"{command} failed: {out}")
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": usage.ru_maxrss / 1024, "output": out}


def large(args: argparse.Namespace, pixels: np.ndarray, folder: str) -> dict:
    import rdjpeg
    from rdjpeg.images import decode_jpeg

    path = os.path.join(folder, "photo.npy")
    np.save(path, pixels)
    np.save(os.path.join(folder, "decoded.npy"), decode_jpeg(rdjpeg.encode(pixels, 75), False))  # for one scoring
    kinds = ["save", "jpegli", "target", "target-before", "score", "score-before"]
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    if args.reference:
        original, decoded = os.path.join(folder, "original.png"), os.path.join(folder, "decoded.png")
        Image.fromarray(pixels).save(original, compress_level=1)
        Image.fromarray(np.load(os.path.join(folder, "decoded.npy"))).save(decoded, compress_level=1)
        runs["libjxl"] = []
    for _ in range(args.rounds):
        for kind in runs:
            if kind == "libjxl":
                result = timed_process([args.reference, original, decoded])
                result["score"] = float(result.pop("output").split()[-1])
                runs[kind].append(result)
            else:
                runs[kind].append(run_child(args, kind, path))
            print(kind, runs[kind][-1], flush=True)
    return runs


def small(args: argparse.Namespace, paths: list[str]) -> dict:
    import rdjpeg
    from rdjpeg.jpeg import backends

    now = (backends.SSIMULACRA2, backends.search)  # 768×512: under SAMPLE_FROM, no sample either way
    scores, targets = before_modules(args.before)
    then = (scores.SSIMULACRA2, targets.search)
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in paths[: args.small_photos]]
    times: dict[str, list[float]] = {"now": [], "before": [], "default": []}
    found = {}
    for _ in range(args.rounds + 1):  # the first round warms up
        for name, (ss2, search) in (("now", now), ("before", then)):
            backends.SSIMULACRA2, backends.search = ss2, search
            start = time.perf_counter()
            found[name] = [rdjpeg.encode_to_target(a, f"ssimulacra2:{args.target}") for a in photos]
            times[name].append((time.perf_counter() - start) / len(photos))
        start = time.perf_counter()
        for a in photos:
            rdjpeg.encode(a, 75)
        times["default"].append((time.perf_counter() - start) / len(photos))
    backends.SSIMULACRA2, backends.search = now
    out = {name: {"median_ms": 1000 * statistics.median(t[1:]), "ms": [1000 * x for x in t[1:]]}
           for name, t in times.items()}  # fmt: skip
    for name in ("now", "before"):
        out[name]["scorings"] = [f.scorings for f in found[name]]
        out[name]["bytes"] = sum(len(f.data) for f in found[name])
    return out


def accuracy(args: argparse.Namespace, paths: list[str]) -> dict:
    import rdjpeg
    from rdjpeg.scores import SSIMULACRA2

    before = module_at(args.before, "scores")
    exact = module_at(args.before, "scores", lambda source: source.replace("np.float32", "np.float64"))
    rows = []
    for path in paths:
        a = np.asarray(Image.open(path).convert("RGB"))
        for q in args.qualities:
            b = np.asarray(Image.open(io.BytesIO(rdjpeg.encode(a, q, backend="pillow"))))
            now, then, truth = SSIMULACRA2(a)(b), before.SSIMULACRA2(a)(b), exact.SSIMULACRA2(a)(b)
            rows.append({"image": os.path.basename(path), "pillow_q": q, "now": now, "before": then, "float64": truth})
    summary = {key: max(abs(r["now"] - r[key]) for r in rows) for key in ("before", "float64")}
    summary["before_vs_float64"] = max(abs(r["before"] - r["float64"]) for r in rows)
    return {"max_abs_difference_now_vs": summary, "pairs": rows}


def batch(args: argparse.Namespace, paths: list[str], folder: str) -> dict:
    inputs, outputs = os.path.join(folder, "batch"), os.path.join(folder, "out")
    os.makedirs(inputs)
    for i in range(args.batch):
        Image.fromarray(photo(paths, first=5 * i)).save(os.path.join(inputs, f"photo{i}.png"), compress_level=1)
    rdjpeg = os.path.join(os.path.dirname(PYTHON), "rdjpeg")
    report = os.path.join(folder, "report.json")
    result = timed_process([rdjpeg, "compress", inputs, "-o", outputs, "--target", f"ssimulacra2:{args.target}",
                            "--jobs", "2", "--report", report, "--quiet"])  # fmt: skip
    result.pop("output")
    with open(report) as f:
        result["files"] = [{k: row[k] for k in ("source", "status", "bytes", "seconds", "quality", "score")}
                           for row in json.load(f)]  # fmt: skip
    return result


def guards(args: argparse.Namespace, paths: list[str], folder: str) -> dict:
    from rdjpeg.images import decode_jpeg
    from rdjpeg.jpeg import jpegli
    from rdjpeg.scores import SSIMULACRA2
    from rdjpeg.targets import GUARD_BELOW

    before = module_at(args.before, "scores")
    original, decoded = os.path.join(folder, "a.png"), os.path.join(folder, "b.png")
    rows = []
    for path in paths:
        a = np.asarray(Image.open(path).convert("RGB"))
        Image.fromarray(a).save(original)  # no colour chunks: the pixels Pillow decodes
        now, then = SSIMULACRA2(a), before.SSIMULACRA2(a)
        for q in (35, 45, 55, 65, 72, 78, 81, 85, 88, 90, 92, 94, 96, 98):
            b = decode_jpeg(jpegli.encode(a, q), False)
            Image.fromarray(b).save(decoded)
            done = subprocess.run([args.reference, original, decoded], capture_output=True, text=True, check=True)
            rows.append({"image": os.path.basename(path), "jpegli_q": q, "libjxl": float(done.stdout.split()[-1]),
                         "now": now(b), "before": then(b)})  # fmt: skip
    table = []
    for look, guard in GUARD_BELOW:
        near = [r for r in rows if abs(r["libjxl"] - look) <= 3]
        table.append({"look": look, "guard": guard, "pairs": len(near),
                      **{f"p95_{k}_minus_libjxl": float(np.percentile([r[k] - r["libjxl"] for r in near], 95))
                         for k in ("now", "before")}})  # fmt: skip
    return {"table": table, "pairs": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", default="../shared/data/kodak/*.png")
    p.add_argument("--before", default=BEFORE, help="the git revision measured as before")
    p.add_argument("--target", type=float, default=70.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--small-photos", type=int, default=6)
    p.add_argument("--qualities", type=int, nargs="+", default=[10, 30, 50, 70, 85, 95, 99])
    p.add_argument("--batch", type=int, default=3, help="24-megapixel photos in the compress batch (0: none)")
    p.add_argument("--reference", help="libjxl's ssimulacra2 binary")
    p.add_argument("--train", default="../shared/data/train/*/*.png", help="photos for the guards")
    p.add_argument("--train-photos", type=int, default=20)
    p.add_argument("--parts", nargs="+", default=["large", "small", "accuracy", "batch", "guards"])
    p.add_argument("--json")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--photo", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)
    paths = sorted(glob.glob(args.images))
    out = {"date": time.strftime("%Y-%m-%d"), "command": " ".join(sys.argv), "cpus": len(os.sched_getaffinity(0)),
           "before": args.before}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        if "large" in args.parts:
            out["large"] = large(args, photo(paths), folder)
        if "small" in args.parts:
            out["small"] = small(args, [p for p in paths if Image.open(p).size == (768, 512)])
            print("small", {k: v["median_ms"] for k, v in out["small"].items()}, flush=True)
        if "accuracy" in args.parts:
            out["accuracy"] = accuracy(args, paths)
            print("accuracy", out["accuracy"]["max_abs_difference_now_vs"], flush=True)
        if "batch" in args.parts and args.batch:
            out["batch"] = batch(args, paths, folder)
            print("batch", {k: v for k, v in out["batch"].items() if k != "files"}, flush=True)
        if "guards" in args.parts and args.reference:
            train = sorted(glob.glob(args.train))
            out["guards"] = guards(args, train[:: max(1, len(train) // args.train_photos)][: args.train_photos], folder)
            print("guards", out["guards"]["table"], flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()

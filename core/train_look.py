"""Train the look predictor (:mod:`rdjpeg.look`): ``rdjpeg train look``.

Two stages, both resumable from the output folder:

1. **Measure** (``curves.jsonl``, one line per training image): jpegli's progressive files at 4:2:0 and at 4:4:4 at
   every quality of :data:`~rdjpeg.look.QUALITIES` and Pillow's JPEG at every quality of :data:`PILLOW_QUALITIES`,
   each decoded by Pillow and scored with SSIMULACRA2 (:mod:`rdjpeg.scores`, libjxl's computation), with its size.
2. **Fit** (``look.json``): per jpegli quality and subsampling, a ridge regression from the image's features
   (:func:`rdjpeg.look.features`) to its SSIMULACRA2 and to its log bits per pixel; per Pillow quality, one to the
   SSIMULACRA2 of Pillow's JPEG of the image; and the mean look of Pillow's JPEG at each quality over the images,
   for which ``quality=q`` writes jpegli's quality of the same mean look (the jpegli models' intercepts). Its record
   holds what the per-photo subsampling saves on cross-validated predictions (:func:`subsampling_savings`).

Images: BSD200 and Urban100 (never Kodak). BSD200's photos were JPEGs once, and on their old 8×8 grid an encoder at
high quality nearly reproduces them; every image loses its first 3 rows and 5 columns, so that no encoder meets old
block edges.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

from .files import image_paths, write_atomically
from .images import decode_jpeg
from .jpeg import jpegli
from .jpeg.backends import pillow_jpeg_bytes
from .look import CURVES, FEATURES, QUALITIES, cheaper_subsampling, features
from .scores import SSIMULACRA2

PILLOW_QUALITIES = tuple(range(5, 101, 5))
GRID_OFFSET = (3, 5)  # rows, columns dropped from every training image (module docstring)


def training_pixels(path: str) -> np.ndarray:
    """The RGB pixels of a training image, its old JPEG grid moved (:data:`GRID_OFFSET`)."""
    with Image.open(path) as im:
        return np.ascontiguousarray(np.asarray(im.convert("RGB"))[GRID_OFFSET[0] :, GRID_OFFSET[1] :])


def measure(path: str) -> dict:
    """SSIMULACRA2 and bytes of one training image's files at each grid quality: jpegli's progressive files at
    4:2:0 (``jpegli``) and 4:4:4 (``jpegli_444``), and Pillow's (``pillow``)."""
    pixels = training_pixels(path)
    score = SSIMULACRA2(pixels)
    row = {"path": os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path),
           "height": pixels.shape[0], "width": pixels.shape[1]}  # fmt: skip
    writers = {
        "jpegli": (QUALITIES, lambda q: jpegli.encode(pixels, q, progressive=True)),
        "jpegli_444": (QUALITIES, lambda q: jpegli.encode(pixels, q, progressive=True, subsampling="4:4:4")),
        "pillow": (PILLOW_QUALITIES, lambda q: pillow_jpeg_bytes(Image.fromarray(pixels), quality=q)),
    }
    for name, (qualities, write) in writers.items():
        files = [write(q) for q in qualities]
        row[name] = {"ssimulacra2": [round(score(decode_jpeg(data, gray=False)), 4) for data in files],
                     "bytes": [len(data) for data in files]}  # fmt: skip
    return row


MEASURED = {"jpegli", "jpegli_444", "pillow"}


def measure_all(paths: list[str], out: str, workers: int = 2, log=print) -> list[dict]:
    """:func:`measure` for every path not yet in ``out/curves.jsonl`` (appended as each ends); all rows, in path
    order."""
    os.makedirs(out, exist_ok=True)
    record = os.path.join(out, "curves.jsonl")
    done = {}
    if os.path.exists(record):
        with open(record) as f:
            done = {row["path"]: row for row in map(json.loads, f) if row.keys() >= MEASURED}  # older rows: again
    key = {p: os.path.basename(os.path.dirname(p)) + "/" + os.path.basename(p) for p in paths}
    todo = [p for p in paths if key[p] not in done]
    with ProcessPoolExecutor(workers) as pool, open(record, "a") as f:
        for i, row in enumerate(pool.map(measure, todo), 1):
            f.write(json.dumps(row) + "\n")
            f.flush()
            done[row["path"]] = row
            if i % 20 == 0 or i == len(todo):
                log(f"measured {i}/{len(todo)}")
    return [done[key[p]] for p in paths]


ALPHAS = (0.3, 1.0, 3.0, 10.0)  # ridge strengths tried; the one with the lowest cross-validated error is kept
FOLDS = 10


def design(f: np.ndarray) -> np.ndarray:
    """The regression's inputs for rows of features: the features and their squares."""
    return np.concatenate([f, f * f], axis=1)


def ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> dict:
    """Standardization and weights (outputs × (1 + inputs)) of a ridge regression of ``y`` on ``x`` (the intercept
    unpenalized)."""
    mean, spread = x.mean(0), x.std(0)
    # A feature (nearly) constant over the images gets no weight: any weight fitted to its noise would multiply other
    # images' values (BSD200's photos are all one size: fitted on them alone, log_pixels made Urban100's predicted
    # looks 30 to 80 points too high; BENCHMARKS.md).
    varies = spread > 1e-3 * np.maximum(np.abs(mean), 1)
    scale = np.where(varies, spread, 1.0)
    z = np.concatenate([np.ones((len(x), 1)), (x - mean) / scale * varies], axis=1)
    penalty = alpha * np.eye(z.shape[1])
    penalty[0, 0] = 0
    return {"mean": mean, "scale": scale, "weights": np.linalg.solve(z.T @ z + penalty, z.T @ y).T}


def predict(model: dict, x: np.ndarray) -> np.ndarray:
    z = np.concatenate([np.ones((len(x), 1)), (x - model["mean"]) / model["scale"]], axis=1)
    return z @ model["weights"].T


def cross_validated(x: np.ndarray, y: np.ndarray, alpha: float, seed: int = 0) -> np.ndarray:
    """Predictions of each image by a model fitted without its fold."""
    order = np.random.default_rng(seed).permutation(len(x))
    out, folds = np.empty_like(y), min(FOLDS, len(x))
    for fold in range(folds):
        held = order[fold::folds]
        kept = np.setdiff1d(order, held)
        out[held] = predict(ridge(x[kept], y[kept], alpha), x[held])
    return out


def achieved(curves: np.ndarray, predicted: np.ndarray, targets) -> dict:
    """Per target: the real score at the quality each image's predicted curve gives for it, minus the target (mean,
    standard deviation, 5th percentile), over the images that reach the target at all."""
    qualities, out = np.arange(1, 101), {}
    for target in targets:
        errors = []
        for real, guess in zip(curves, predicted, strict=True):
            if real.max() < target:
                continue
            guess = np.maximum.accumulate(np.interp(qualities, QUALITIES, guess))
            q = int(np.nonzero(guess >= target)[0][0]) + 1 if guess[-1] >= target else 100
            errors.append(np.interp(q, QUALITIES, real) - target)
        errors = np.asarray(errors)
        if not len(errors):
            continue
        out[str(target)] = {"mean": round(float(errors.mean()), 3), "std": round(float(errors.std()), 3),
                            "p5": round(float(np.percentile(errors, 5)), 3), "images": len(errors)}  # fmt: skip
    return out


SAVING_LOOKS = (50, 60, 70, 80, 85, 90)  # looks at which the record states what the per-photo subsampling saves


def targets(rows: list[dict]) -> dict[str, np.ndarray]:
    """What the models learn, per image (rows) and quality (columns): ``ssimulacra2`` and ``log_bpp`` of jpegli at
    4:2:0, the same with ``_444`` at 4:4:4, and ``pillow_ssimulacra2``."""
    out = {}
    for suffix in CURVES.values():
        key = "jpegli" + suffix
        out["ssimulacra2" + suffix] = np.asarray([row[key]["ssimulacra2"] for row in rows])
        out["log_bpp" + suffix] = np.log([8 * np.asarray(row[key]["bytes"]) / (row["height"] * row["width"])
                                          for row in rows])  # fmt: skip
    out["pillow_ssimulacra2"] = np.asarray([row["pillow"]["ssimulacra2"] for row in rows])
    return out


def cost_at(scores: np.ndarray, log_bpp: np.ndarray, look: float) -> float:
    """An image's measured log bpp at ``look`` on its curve at the grid qualities (interpolated; inf out of reach)."""
    curve = np.maximum.accumulate(scores)
    return float(np.interp(look, curve, log_bpp)) if curve[-1] >= look else np.inf


def subsampling_savings(measured: dict, predicted: dict, looks=SAVING_LOOKS) -> dict:
    """Per look: the share of images whose predicted curves (``predicted``, as ``measured``: :func:`targets`) choose
    4:4:4 (:func:`rdjpeg.look.cheaper_subsampling`), and the measured change in total bytes at that look of the
    choice against 4:2:0 alone (over the images 4:2:0 reaches) and against the better of the two per image (over
    the images either reaches). A choice of 4:2:0 that cannot reach the look counts at 4:4:4's bytes: target mode
    searches 4:4:4 next."""
    out = {}
    for look in looks:
        chosen, alone, best = [], [], []
        for i in range(len(measured["ssimulacra2"])):
            cost = {name: cost_at(measured["ssimulacra2" + sfx][i], measured["log_bpp" + sfx][i], look)
                    for name, sfx in CURVES.items()}  # fmt: skip
            if not np.isfinite(min(cost.values())):
                continue
            curves = {name: np.maximum.accumulate(predicted["ssimulacra2" + sfx][i]) for name, sfx in CURVES.items()}
            name = cheaper_subsampling(curves, {n: predicted["log_bpp" + s][i] for n, s in CURVES.items()}, look)
            mine = np.exp(cost[name] if np.isfinite(cost[name]) else min(cost.values()))
            chosen.append(name == "4:4:4")
            best.append((mine, np.exp(min(cost.values()))))
            if np.isfinite(cost["4:2:0"]):
                alone.append((mine, np.exp(cost["4:2:0"])))
        if not chosen:
            continue
        ours, theirs = np.sum(alone, 0) if alone else (np.nan, np.nan)
        out[str(look)] = {"images": len(chosen), "share_444": round(float(np.mean(chosen)), 3),
                          "reached_by_420": len(alone), "bytes_vs_420": round(float(ours / theirs - 1), 4),
                          "bytes_vs_best": round(float(np.sum(best, 0)[0] / np.sum(best, 0)[1] - 1), 4)}  # fmt: skip
    return out


def fit(rows: list[dict], root: dict[str, str], f: np.ndarray | None = None) -> dict:
    """``look.json``'s content from measured rows (:func:`measure_all`); ``root`` maps a row's path to its file
    (``f``: the images' features, when already measured)."""
    if f is None:
        f = np.stack([features(training_pixels(root[row["path"]])) for row in rows])
    x, measured = design(f), targets(rows)
    scores, pillow = measured["ssimulacra2"], measured["pillow_ssimulacra2"]
    errors = {a: float(np.sqrt(((cross_validated(x, scores, a) - scores) ** 2).mean())) for a in ALPHAS}
    alpha = min(errors, key=errors.get)
    checked = {k: cross_validated(x, v, alpha) for k, v in measured.items()}
    models = {k: ridge(x, v, alpha) for k, v in measured.items()}
    rms = {k: np.sqrt(((checked[k] - v) ** 2).mean(0)) for k, v in measured.items()}
    model = {
        "features": list(FEATURES),
        "qualities": list(QUALITIES),
        "standardize": {k: models["ssimulacra2"][k].round(8).tolist() for k in ("mean", "scale")},
        "weights": {k: m["weights"].round(8).tolist() for k, m in models.items()},
        "pillow_qualities": list(PILLOW_QUALITIES),
        "pillow_look": pillow.mean(0).round(4).tolist(),
    }
    return model | {
        "record": {
            "images": len(rows),
            "alpha": alpha,
            "cross_validated_rmse_by_alpha": {str(a): round(e, 4) for a, e in errors.items()},
            **{f"cross_validated_rmse_{k}": v.round(4 if "bpp" in k else 3).tolist() for k, v in rms.items()},
            "open_loop_error_at_targets": achieved(scores, checked["ssimulacra2"], (30, 40, 50, 60, 70, 80, 90)),
            "open_loop_error_at_targets_444": achieved(
                measured["ssimulacra2_444"], checked["ssimulacra2_444"], (80, 85, 90)
            ),
            "cross_validated_subsampling_savings": subsampling_savings(measured, checked),
        }
    }


def _dumps(value, indent: str = "") -> str:
    """JSON with one key per line and every list of numbers (a table row) on one line: readable, diffable."""
    if isinstance(value, dict):
        inner = indent + " "
        items = ",\n".join(f"{inner}{json.dumps(k)}: {_dumps(v, inner)}" for k, v in value.items())
        return "{\n" + items + "\n" + indent + "}" + ("\n" if not indent else "")
    if isinstance(value, list) and value and isinstance(value[0], list):
        inner = indent + " "
        return "[\n" + ",\n".join(inner + json.dumps(row) for row in value) + "\n" + indent + "]"
    return json.dumps(value)


def train_look(data: list[str], out: str, workers: int = 2, log=print, command: str = "") -> str:
    """Measure (resumably) and fit; writes ``out/look.json`` (with ``command``, the one that made it) and returns its
    path."""
    import datetime

    paths = image_paths(data)
    rows = measure_all(paths, out, workers, log)
    root = {os.path.basename(os.path.dirname(p)) + "/" + os.path.basename(p): p for p in paths}
    model = {"command": command, "date": datetime.date.today().isoformat(), **fit(rows, root)}
    path = os.path.join(out, "look.json")
    write_atomically(path, _dumps(model).encode())
    record = model["record"]
    log(f"fitted on {record['images']} images, alpha {record['alpha']}; cross-validated SSIMULACRA2 RMSE at q50 "
        f"{record['cross_validated_rmse_ssimulacra2'][QUALITIES.index(50)]:.2f}; wrote {path}")  # fmt: skip
    return path

"""Search quantization tables for mozjpeg's trellis encoder on the two judges (SSIMULACRA2, butteraugli), on
training images only. A candidate is mozjpeg's "ms-ssim" base pair reshaped by a few parameters (chroma scale,
frequency tilt of each table); every file is written by mozjpeg 4.0.3 (jpeglib, the same pixels as mozjpeg 5 through
pyvips at equal tables) and decoded by Pillow. Prints BD-rates against mozjpeg 5 (cjpeg defaults) and jpegli
(optimized Huffman) and writes every record as JSON.

    .venv/bin/python benchmarks/table_search.py --out runs/table-search.json
"""

from __future__ import annotations

import argparse
import glob
import itertools
import json
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from rdjpeg.images import image_to_tensor, open_image, roundtrip
from rdjpeg.plugins import get_backend, get_metric
from rdjpeg.report import bd_rate

JUDGES = ("ssimulacra2", "butteraugli")
QUALITIES = (30, 40, 50, 60, 70, 80, 90, 95)
_RADIUS = np.hypot(*np.meshgrid(np.arange(8), np.arange(8), indexing="ij")) / np.hypot(7, 7)  # 0 (DC) .. 1


def training_images(shared: str) -> list[str]:
    """Every 25th of BSD200 and of Urban100 (12 images): never Kodak."""
    bsd = sorted(glob.glob(f"{shared}/data/train/bsd200/*.png"))[::25]
    urban = sorted(glob.glob(f"{shared}/data/train/urban100/*.png"))[::25]
    return bsd + urban


def base_tables(name: str = "ms-ssim") -> np.ndarray:
    """(2, 8, 8) mozjpeg base tables (quality 50 is their 100 % scale)."""
    return get_backend("mozjpeg").tables(50, table=name).astype(np.float64)


def scale(quality: int) -> float:
    """libjpeg's quality scaling, as a factor."""
    return (5000 / quality if quality < 50 else 200 - 2 * quality) / 100


def candidate_tables(params: dict, quality: int) -> np.ndarray:
    """The (2, 8, 8) uint16 tables of a candidate at ``quality``."""
    base = base_tables(params.get("base", "ms-ssim"))
    luma = base[0] * np.exp(params.get("luma_tilt", 0.0) * (_RADIUS - 0.5))
    chroma = base[1] * params.get("chroma", 1.0) * np.exp(params.get("chroma_tilt", 0.0) * (_RADIUS - 0.5))
    tables = np.stack([luma, chroma]) * scale(quality)
    return np.clip(np.floor(tables + 0.5), 1, 255).astype(np.uint16)


def mozjpeg_with_tables(pixels: np.ndarray, tables: np.ndarray) -> bytes:
    import jpeglib

    with tempfile.NamedTemporaryFile(suffix=".jpg", dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as f:
        with jpeglib.version("mozjpeg403"):
            jpeglib.from_spatial(np.ascontiguousarray(pixels)).write_spatial(f.name, qt=tables)
        with open(f.name, "rb") as g:
            return g.read()


def measure(path: str, label: str, params: dict | None) -> list[dict]:
    torch.set_num_threads(1)
    pixels = np.asarray(open_image(path).convert("RGB"))
    x = image_to_tensor(pixels)
    if params is None:
        backend, options = get_backend(label.split(":")[0]), {"optimize": True} if label.startswith("jpegli") else {}
        encode = lambda p, q: backend.encode(p, q, **options)  # noqa: E731
    else:
        encode = lambda p, q: mozjpeg_with_tables(p, candidate_tables(params, q))  # noqa: E731
    rows = []
    for q in QUALITIES:
        _, y, bpp = roundtrip(encode, pixels, q)
        with torch.inference_mode():
            scores = {m: float(get_metric(m).score(x, y)[0]) for m in JUDGES}
        rows.append({"image": os.path.basename(path), "codec": label, "quality": q, "bpp": bpp, **scores})
    return rows


def curves(records: list[dict], label: str) -> dict:
    rows = [r for r in records if r["codec"] == label]
    out = {"bpp": [np.mean([r["bpp"] for r in rows if r["quality"] == q]) for q in QUALITIES]}
    for m in JUDGES:
        value = np.vectorize(get_metric(m).bd_value)
        out[m] = value([np.mean([r[m] for r in rows if r["quality"] == q]) for q in QUALITIES])
    return out


def grid() -> dict[str, dict]:
    out = {}
    for chroma, luma_tilt, chroma_tilt in itertools.product((0.7, 1.0, 1.4), (-0.4, 0.0, 0.4), (-0.5, 0.0, 0.5)):
        out[f"c{chroma}_l{luma_tilt}_t{chroma_tilt}"] = {"chroma": chroma, "luma_tilt": luma_tilt,
                                                          "chroma_tilt": chroma_tilt}  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("RDJPEG_SHARED", "../shared"))
    parser.add_argument("--out", default="runs/table-search.json")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--candidates", help="JSON {label: params} instead of the built-in grid")
    args = parser.parse_args(argv)
    images = training_images(args.shared)
    candidates = json.loads(args.candidates) if args.candidates else grid()
    records = []
    if os.path.exists(args.out):
        with open(args.out) as f:
            records = json.load(f)["records"]
    done = {r["codec"] for r in records}
    todo = [(label, None) for label in ("mozjpeg", "jpegli:optimize") if label not in done]
    todo += [(label, params) for label, params in candidates.items() if label not in done]
    with ProcessPoolExecutor(args.jobs) as pool:
        for label, params in todo:
            for rows in pool.map(measure, images, [label] * len(images), [params] * len(images)):
                records += rows
            with open(args.out, "w") as f:
                json.dump({"images": [os.path.basename(p) for p in images], "candidates": candidates,
                           "records": records}, f)  # fmt: skip
            report(records, label)
    for label in candidates:
        report(records, label)


def report(records: list[dict], label: str) -> None:
    test = curves(records, label)
    parts = []
    for anchor in ("mozjpeg", "jpegli:optimize"):
        ref = curves(records, anchor)
        parts += [f"{anchor[:6]} {m[:6]} {bd_rate(ref['bpp'], ref[m], test['bpp'], test[m]):+6.2f}" for m in JUDGES]
    print(f"{label:28s}", "  ".join(parts), flush=True)


if __name__ == "__main__":
    main()

"""Judge prefilters trained for jpegli (``benchmarks/train_jpegli.py``) on Kodak: P(x, q) then jpegli at q with
optimized Huffman tables (the default backend's files), against jpegli:optimize, mozjpeg and Pillow at the same
qualities, on the five metrics. The peers' records come from ``benchmarks/results/default-kodak.json`` (same encoders,
same decoder); only the prefiltered codecs are encoded here, in this process.

    .venv/bin/python benchmarks/jpegli_prefilter.py s2mse=runs/jpegli-s2mse/prefilter.safetensors \
        --out benchmarks/results/jpegli-prefilter-kodak.json
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

from rdjpeg.crops import crop_figure
from rdjpeg.evaluate import evaluate_image
from rdjpeg.files import write_atomically
from rdjpeg.hookspecs import hookimpl
from rdjpeg.images import image_to_tensor, tensor_to_pixels
from rdjpeg.models.prefilter import load_prefilter
from rdjpeg.plugins import get_backend, plugin_manager
from rdjpeg.report import summarize

PEERS = "benchmarks/results/default-kodak.json"
METRICS = ("ssimulacra2", "butteraugli", "psnr", "msssim", "lpips")


def _codec(weights: str):
    net = load_prefilter(weights).eval()
    jpegli = get_backend("jpegli")

    def encode(pixels, quality):
        with torch.inference_mode():
            y = net(image_to_tensor(pixels), torch.tensor([quality]))
        return jpegli.write(tensor_to_pixels(y), quality, optimize=True)

    return encode


class _Plugin:
    """Each prefilter as a codec named by its label."""

    def __init__(self, weights: dict[str, str]) -> None:
        self.weights = weights

    @hookimpl
    def rdjpeg_register_codecs(self, register) -> None:
        for label, path in self.weights.items():
            register(label, lambda options, path=path: _codec(path))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", help="label=path.safetensors")
    parser.add_argument("--shared", default=os.environ.get("RDJPEG_SHARED", "../shared"))
    parser.add_argument("--qualities", default="30,40,50,60,70,80,90,95")
    parser.add_argument("--images", type=int, default=24, help="the first N Kodak images")
    parser.add_argument("--out")
    parser.add_argument("--figure", metavar="IMAGE:Q:PNG", help="crops of this Kodak image (e.g. kodim05), jpegli "
                        "at quality Q, the others at the nearest size, written to PNG; no evaluation")  # fmt: skip
    args = parser.parse_args(argv)
    weights = dict(item.split("=", 1) for item in args.weights)
    plugin_manager().register(_Plugin(weights), name="jpegli-prefilter")
    qualities = [int(q) for q in args.qualities.split(",")]
    paths = sorted(glob.glob(f"{args.shared}/data/kodak/*.png"))[: args.images]
    names = {os.path.basename(p) for p in paths}
    with open(PEERS) as f:
        peers = [r for r in json.load(f)["records"] if r["quality"] in qualities and r["image"] in names]
    if args.figure:
        image, q, png = args.figure.split(":")
        pixels = np.asarray(Image.open(f"{args.shared}/data/kodak/{image}.png").convert("RGB"))
        figure = crop_figure(pixels, ["jpegli:optimize", *weights, "mozjpeg"], int(q), columns=len(weights) + 3)
        figure.save(png)
        return
    records = []
    for path in paths:
        records += evaluate_image(path, list(weights), qualities, METRICS)
        print(os.path.basename(path), flush=True)
    codecs = ["jpegli:optimize", "mozjpeg", "pillow", *weights]
    records += [r for r in peers if r["codec"] in codecs]
    summary = summarize(records, codecs, list(METRICS))
    for peer in ("jpegli:optimize", "mozjpeg"):
        sub = summarize([r for r in records if r["codec"] in (peer, *weights)], [peer, *weights], list(METRICS))
        for label in weights:
            row = " ".join(f"{m} {sub['bd_rate'][m][label]['average_curve']:+.2f}%" for m in METRICS)
            print(f"{label} vs {peer}: {row}")
    if args.out:
        command = "benchmarks/jpegli_prefilter.py " + " ".join(sys.argv[1:] if argv is None else argv)
        out = {"command": command, "weights": weights, "qualities": qualities, "records": records, "summary": summary}
        write_atomically(args.out, json.dumps(out, indent=1).encode())


if __name__ == "__main__":
    main()

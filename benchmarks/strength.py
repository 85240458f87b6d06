"""Real BD-rate of a prefilter with its edits scaled by each strength: x + s·(P(x) − x), folded into the weights.

The computation the training's validation and ``--strengths`` calibration use (``real_bd_rate``: Pillow 4:2:0 of the
edited image against Pillow of the original, same quality, real decoder, mean of per-image BD-rates), on any images.
Use it to look at a calibration on a test set; choose the strength on training images (``--strengths``), never here.

Usage:
    python benchmarks/strength.py --weights core/weights/prefilter-msssim.safetensors \
        --images "../shared/data/kodak/*.png" --strengths 0.8333,1,1.0833 --metric msssim
"""

from __future__ import annotations

import argparse
import json

import torch

from rdjpeg.files import image_paths
from rdjpeg.images import image_to_tensor, open_image
from rdjpeg.models.prefilter import load_prefilter
from rdjpeg.train.prefilter import real_bd_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="a .safetensors prefilter")
    parser.add_argument("--images", nargs="+", required=True, help="files, globs or folders")
    parser.add_argument("--strengths", default="1", help="comma-separated factors, relative to the file's weights")
    parser.add_argument("--metric", default="msssim")
    parser.add_argument("--qualities", default="10,20,30,40,50,60,70,80,90")
    args = parser.parse_args()
    images = [image_to_tensor(open_image(p)) for p in image_paths(args.images)]
    qualities = [int(q) for q in args.qualities.split(",")]
    for strength in (float(s) for s in args.strengths.split(",")):
        model = load_prefilter(args.weights)
        model.scale_edits(strength)
        with torch.inference_mode():
            bd = real_bd_rate(model, images, qualities, args.metric)
        print(json.dumps({"weights": args.weights, "strength": strength, "images": len(images), "bd_rate": bd}))


if __name__ == "__main__":
    main()

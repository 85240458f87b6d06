"""Does the rate network underrate prefiltered images? R̂/real bits on crops before and after a prefilter.

A prefilter trained through R̂ learns whatever R̂ underrates, so R̂ has to be right on edited images too
(``rdjpeg train rate --prefilters``). On the held-out 320² centre crops the prefilter training validates on, per
quality: the real saving of Pillow's 4:2:0 file, the saving R̂ predicts, and R̂/real for the unedited and the
edited crops (summed over the crops).

Usage:
    python benchmarks/rate_bias.py --weights core/weights/prefilter-msssim.safetensors \
        --data ../shared/data/train/bsd200 ../shared/data/train/urban100 [--rate core/weights/rate.safetensors]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from PIL import Image

from rdjpeg.images import image_to_tensor, tensor_to_pixels
from rdjpeg.jpeg.backends import pillow_jpeg_bytes
from rdjpeg.learned.models.prefilter import load_prefilter
from rdjpeg.learned.models.rate import estimate_bits, rate_estimator
from rdjpeg.learned.train.data import ImagePool
from rdjpeg.learned.train.prefilter import PrefilterConfig, validation_set


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True, help="a .safetensors prefilter")
    parser.add_argument("--data", nargs="+", required=True, help="training image folders (held-out crops are used)")
    parser.add_argument("--rate", help="rate network weights (default: the shipped ones)")
    parser.add_argument("--crops", type=int, default=12)
    parser.add_argument("--qualities", default="10,20,35,50,65,80,90")
    args = parser.parse_args(argv)
    crops = validation_set(ImagePool(args.data), PrefilterConfig(val_images=args.crops))
    net, rate = load_prefilter(args.weights), rate_estimator(path=args.rate)
    print("| q | real saving | predicted saving | R̂/real, unedited | R̂/real, edited |\n|---|---|---|---|---|")
    for q in (int(v) for v in args.qualities.split(",")):
        bits = np.zeros((2, 2))  # [unedited, edited] × [real, predicted]
        for x in crops:
            with torch.inference_mode():
                edited = image_to_tensor(tensor_to_pixels(net(x, q)))  # what the encoder gets: 8-bit pixels
                for i, y in enumerate((x, edited)):
                    blob = pillow_jpeg_bytes(Image.fromarray(tensor_to_pixels(y)), quality=q, subsampling=2)
                    bits[i] += 8 * len(blob), float(estimate_bits(y, q, model=rate)[0])
        print(f"| {q} | {1 - bits[1, 0] / bits[0, 0]:.2%} | {1 - bits[1, 1] / bits[0, 1]:.2%} "
              f"| {bits[0, 1] / bits[0, 0]:.3f} | {bits[1, 1] / bits[1, 0]:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()

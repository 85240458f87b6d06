"""Masking in strips (images over 4 MP) against masking the whole image, judged by SSIMULACRA2 and butteraugli.

    .venv/bin/python benchmarks/masking_strips.py --images "../shared/data/kodak/*.png" --count 8 --rows 128

Kodak images are small enough to mask whole; ``--rows`` forces strips on them so that both can be compared on the
same pictures: Pillow at one quality, the real decode, mean bytes and judges over the images.
"""

from __future__ import annotations

import argparse
import glob
import io

import numpy as np
import torch
from PIL import Image

from rdjpeg.images import image_to_tensor, tensor_to_pixels
from rdjpeg.models.masking import apply_masking, mask_in_strips
from rdjpeg.plugins import get_metric


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="../shared/data/kodak/*.png")
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--rows", type=int, default=128)
    parser.add_argument("--quality", type=int, default=50)
    args = parser.parse_args()
    judges = [get_metric("ssimulacra2"), get_metric("butteraugli")]
    results = {"whole": [], "strips": []}
    for path in sorted(glob.glob(args.images))[: args.count]:
        x = image_to_tensor(np.asarray(Image.open(path).convert("RGB")))
        q = torch.tensor([args.quality])
        edited = {"whole": apply_masking(x, q, "4:2:0"), "strips": mask_in_strips(x, q, "4:2:0", rows=args.rows)}
        for name, y in edited.items():
            buf = io.BytesIO()
            Image.fromarray(tensor_to_pixels(y)).save(buf, "JPEG", quality=args.quality)
            decoded = image_to_tensor(np.asarray(Image.open(buf).convert("RGB")))
            results[name].append([buf.tell(), *(float(m.score(x, decoded)[0]) for m in judges)])
    for name, rows in results.items():
        size, ss2, ba = np.mean(rows, 0)
        print(f"{name}: {size:,.0f} bytes, SSIMULACRA2 {ss2:.2f}, butteraugli {ba:.3f} (mean of {len(rows)})")


if __name__ == "__main__":
    main()

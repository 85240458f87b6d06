"""imageio: convert a folder of images to RD-optimized JPEGs and compare the total size with plain JPEG.

python integrations/imageio_batch_convert.py INPUT_DIR OUTPUT_DIR --quality 75
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np

import rdjpeg_plugins  # noqa: F401  registers the "RDJPEG" imageio plugin

SUFFIXES = {".png", ".bmp", ".tif", ".tiff", ".ppm", ".jpg", ".jpeg"}


def to_uint8_rgb(a: np.ndarray) -> np.ndarray:
    """What JPEG can hold: 8-bit gray or RGB (alpha dropped, 16-bit scaled)."""
    if a.dtype == np.uint16:
        a = (a / 257).round().astype(np.uint8)
    if a.ndim == 3 and a.shape[2] in (2, 4):
        a = a[..., :-1]
    return a[..., 0] if a.ndim == 3 and a.shape[2] == 1 else a


def convert(src: Path, dst: Path, quality: int) -> tuple[int, int, int]:
    """(files, rdjpeg bytes, plain-JPEG bytes)."""
    dst.mkdir(parents=True, exist_ok=True)
    files = ours = plain = 0
    for path in sorted(p for p in src.iterdir() if p.suffix.lower() in SUFFIXES):
        a = to_uint8_rgb(iio.imread(path))
        iio.imwrite(dst / (path.stem + ".jpg"), a, plugin="RDJPEG", quality=quality)
        files += 1
        ours += (dst / (path.stem + ".jpg")).stat().st_size
        plain += len(iio.imwrite("<bytes>", a, extension=".jpg", quality=quality))
    return files, ours, plain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--quality", type=int, default=75)
    args = parser.parse_args(argv)
    files, ours, plain = convert(args.input, args.output, args.quality)
    if not files:
        print(f"no images in {args.input}", file=sys.stderr)
        return 1
    print(f"{files} images: rdjpeg {ours} bytes, plain JPEG {plain} bytes ({100 * (ours / plain - 1):+.1f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pillow: prepare a user's upload for the web — orient, downscale, and save as RDJPEG under a size budget.

This is the shape of a typical upload handler: the image arrives as bytes, leaves as bytes. Compared with the same
handler using Pillow's "JPEG", only the format name changes (plus ``max_bytes``, which JPEG cannot do).

    python integrations/pillow_web_upload.py photo.png out.jpg --max-side 1024 --max-bytes 150000
"""

from __future__ import annotations

import argparse
import io
import sys

from PIL import Image, ImageOps

import rdjpeg_plugins  # noqa: F401  registers the "RDJPEG" save format


def web_version(upload: bytes, max_side: int = 1024, max_bytes: int | None = None, quality: int = 80) -> bytes:
    """Orient by EXIF, fit in ``max_side``, keep the colour profile, progressive; at most ``max_bytes`` if given."""
    with Image.open(io.BytesIO(upload)) as im:
        icc = im.info.get("icc_profile")
        im = ImageOps.exif_transpose(im).convert("RGB")
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    options = {"quality": quality, "optimize": True, "progressive": True}
    if max_bytes:
        options["max_bytes"] = max_bytes
    if icc:
        options["icc_profile"] = icc
    im.save(out, "RDJPEG", **options)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--max-side", type=int, default=1024)
    parser.add_argument("--max-bytes", type=int)
    args = parser.parse_args(argv)
    with open(args.input, "rb") as f:
        upload = f.read()
    data = web_version(upload, args.max_side, args.max_bytes)
    with open(args.output, "wb") as f:
        f.write(data)
    with Image.open(io.BytesIO(data)) as im:
        print(f"{args.input}: {len(upload)} bytes -> {args.output}: {im.size[0]}x{im.size[1]}, {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pillow: prepare a user's upload for the web — orient, downscale, and save as RDJPEG at a look or under a budget.

This is the shape of a typical upload handler: the image arrives as bytes, leaves as bytes. Compared with the same
handler using Pillow's "JPEG", only the format name changes (plus ``target`` and ``max_bytes``, which JPEG cannot
do: every upload at the same measured look, or the best look that fits).

    python integrations/pillow_web_upload.py photo.png out.jpg --max-side 1024 --target ssimulacra2:75
    python integrations/pillow_web_upload.py photo.png out.jpg --max-side 1024 --max-bytes 150000
"""

from __future__ import annotations

import argparse
import io
import sys

from PIL import Image, ImageOps

import rdjpeg_plugins  # noqa: F401  registers the "RDJPEG" save format


def web_version(upload: bytes, max_side: int = 1024, max_bytes: int | None = None, quality: int = 80,
                target: str | None = None) -> bytes:  # fmt: skip
    """Orient by EXIF, fit in ``max_side``, keep the colour profile, progressive; at the ``target`` look, or at most
    ``max_bytes``, if given."""
    with Image.open(io.BytesIO(upload)) as im:
        icc = im.info.get("icc_profile")
        im = ImageOps.exif_transpose(im).convert("RGB")
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    options = {"optimize": True, "progressive": True}
    if target:
        options["target"] = target
    else:
        options["quality"] = quality
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
    parser.add_argument("--target", help="a look, such as ssimulacra2:75 (not with --max-bytes)")
    args = parser.parse_args(argv)
    with open(args.input, "rb") as f:
        upload = f.read()
    data = web_version(upload, args.max_side, args.max_bytes, target=args.target)
    with open(args.output, "wb") as f:
        f.write(data)
    with Image.open(io.BytesIO(data)) as im:
        print(f"{args.input}: {len(upload)} bytes -> {args.output}: {im.size[0]}x{im.size[1]}, {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Side-by-side crops of codecs at matched file size: what the eye judges.

For one image, the first codec is encoded at the given quality; every other codec gets the quality whose file is
nearest that size (binary search over 1..100; sizes grow with quality). Each tile is the same window of the
decoded image, enlarged without smoothing, with codec, quality and bytes written under it (and the size difference
when no quality comes within ±2 %). The window is where the first codec's error is largest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..images import decode_jpeg
from ..plan import search_quality
from .evaluate import Codec

MATCH = 0.02  # a file within ±2 % of the target counts as matched


def nearest_size(encode: Callable[[int], bytes], target: int) -> tuple[int, bytes]:
    """(quality, bytes) of the file nearest ``target`` bytes: the largest that fits, or the next quality up."""
    try:
        found = search_quality(encode, 100, target)
        below = (found.quality, found.data)
    except ValueError:  # even quality 1 is larger
        below = None
    q = below[0] + 1 if below else 1
    candidates = [c for c in (below, (q, encode(q)) if q <= 100 else None) if c is not None]
    return min(candidates, key=lambda c: abs(len(c[1]) - target))


def worst_window(original: np.ndarray, decoded: np.ndarray, side: int) -> tuple[int, int]:
    """(top, left) of the ``side``² window with the largest mean absolute error (a coarse 8-px search)."""
    error = np.abs(original.astype(np.float32) - decoded).reshape(*original.shape[:2], -1).mean(-1)
    h, w = error.shape
    side_h, side_w = min(side, h), min(side, w)
    integral = np.pad(error.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    tops, lefts = np.arange(0, h - side_h + 1, 8)[:, None], np.arange(0, w - side_w + 1, 8)[None]
    sums = (integral[tops + side_h, lefts + side_w] - integral[tops, lefts + side_w]
            - integral[tops + side_h, lefts] + integral[tops, lefts])  # fmt: skip
    i, j = np.unravel_index(sums.argmax(), sums.shape)
    return int(tops[i, 0]), int(lefts[0, j])


def crop_figure(pixels: np.ndarray, codecs: Sequence[str], quality: int, side: int = 160, zoom: int = 2,
                columns: int = 4) -> Image.Image:  # fmt: skip
    """The figure for one image (uint8 (H, W[, 3])): the original crop, then one tile per codec at matched size."""
    mode = "L" if pixels.ndim == 2 else "RGB"
    parsed = [Codec.parse(c) for c in codecs]
    first = parsed[0].encoder()(pixels, quality)
    tiles = [("original", None, None, pixels)]
    for i, codec in enumerate(parsed):
        encode = codec.encoder()
        q, data = (quality, first) if i == 0 else nearest_size(lambda q, e=encode: e(pixels, q), len(first))
        tiles.append((codec.label, q, data, decode_jpeg(data, gray=mode == "L")))
    top, left = worst_window(pixels, tiles[1][3], side)
    font = ImageFont.load_default(size=13)
    label_h, width = 38, min(side, pixels.shape[1]) * zoom
    height = min(side, pixels.shape[0]) * zoom
    rows = -(-len(tiles) // columns)
    figure = Image.new("RGB", (columns * width, rows * (height + label_h)), "white")
    draw = ImageDraw.Draw(figure)
    for k, (label, q, data, image) in enumerate(tiles):
        crop = Image.fromarray(image[top : top + side, left : left + side]).convert("RGB")
        x, y = (k % columns) * width, (k // columns) * (height + label_h)
        figure.paste(crop.resize((width, height), Image.NEAREST), (x, y))
        if data is None:
            text = f"original ({pixels.shape[1]}x{pixels.shape[0]}, window at {left},{top})"
        else:
            off = len(data) / len(first) - 1
            text = f"{label}\nq{q}, {len(data):,} bytes" + (f" ({off:+.1%})" if abs(off) > MATCH else "")
        draw.multiline_text((x + 4, y + height + 3), text, fill="black", font=font, spacing=2)
    return figure

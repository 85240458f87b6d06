"""Pillow's rules for its JPEG save, in one place: how it reads ``quality``, its presets and "keep", its integer
flags and its metadata types, with its exceptions and words. The Pillow format (:mod:`rdjpeg_plugins.pillow`) and the
backends that take Pillow's options call these, so every door answers as ``Image.save(..., "JPEG")`` does.
"""

from __future__ import annotations

import operator

from PIL import Image

JPEG_MODES = ("1", "L", "RGB", "RGBX", "CMYK", "YCbCr")  # what Pillow's JPEG save writes
SUBSAMPLING_NAMES = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2, "4:1:1": 2}  # Pillow writes "4:1:1" as 4:2:0


def pillow_quality(quality) -> int:
    """Pillow's JPEG save's meaning: -1 is the default (75); libjpeg clamps any other integer to 1..100. Like
    Pillow, only Python integers (a bool too, a numpy integer not), and ValueError for anything else."""
    if not isinstance(quality, int):
        raise ValueError(f"quality must be an integer (clamped to 1..100; -1 for the default), got {quality!r}")
    return 75 if quality == -1 else min(100, max(1, quality))


PILLOW_INTEGER_OPTIONS = ("optimize", "progressive", "smooth", "restart_marker_blocks", "restart_marker_rows",
                          "streamtype")  # fmt: skip


def check_pillow_flags(options: dict) -> None:
    """Pillow's rule for its integer options: a value with an integer meaning (``progressive`` may be None, which
    Pillow reads as ``progressive or progression``), else TypeError in Pillow's words."""
    for name in set(PILLOW_INTEGER_OPTIONS) & options.keys():
        value = options[name] or False if name == "progressive" else options[name]
        try:
            operator.index(value)
        except TypeError:
            raise TypeError(f"{name}: '{type(value).__name__}' object cannot be interpreted as an integer") from None


# The types Pillow's JPEG save takes for each (it raises TypeError for others).
METADATA_TYPES = {"exif": (bytes, Image.Exif), "xmp": (bytes, bytearray), "icc_profile": (bytes, bytearray),
                  "comment": (str, bytes)}  # fmt: skip


def check_metadata_types(options: dict) -> None:
    """TypeError, as Pillow's, for a metadata option of a type Pillow's JPEG save does not take."""
    for name, types in METADATA_TYPES.items():
        value = options.get(name)
        if value and not isinstance(value, types):
            kinds = " or ".join(t.__name__ for t in types)
            raise TypeError(f"{name} must be {kinds}, got {type(value).__name__}")


def explicit_options(im: Image.Image, options: dict) -> dict:
    """``options`` with quality presets and "keep" replaced by the tables and subsampling they stand for, exactly as
    Pillow's JPEG save resolves them (``JpegImagePlugin._save``), and Pillow's errors for invalid ones."""
    from PIL.JpegPresets import presets

    options = dict(options)
    quality, subsampling, qtables = (options.get(k, d) for k, d in (("quality", -1), ("subsampling", -1),
                                                                     ("qtables", None)))  # fmt: skip
    if quality == "keep":
        quality, subsampling, qtables = -1, "keep", "keep"
    elif isinstance(quality, str) and quality in presets:
        quality, subsampling, qtables = (
            -1,
            presets[quality].get("subsampling", -1),
            presets[quality].get("quantization"),
        )
    elif not isinstance(quality, int):
        raise ValueError("Invalid quality setting")  # Pillow's words
    else:
        if isinstance(subsampling, str) and subsampling in presets:
            subsampling = presets[subsampling].get("subsampling", -1)
        if isinstance(qtables, str) and qtables in presets:
            qtables = presets[qtables].get("quantization")
    if "dpi" in options:
        [round(x) for x in options["dpi"]]  # Pillow's first use of dpi, and its TypeError for None
    if "keep" in (subsampling, qtables) and im.format != "JPEG":
        raise ValueError("Cannot use 'keep' when original image is not a JPEG")  # Pillow's words
    if subsampling == "keep":
        from PIL.JpegImagePlugin import get_sampling

        subsampling = get_sampling(im)
    if qtables == "keep":
        qtables = getattr(im, "quantization", None)
    if isinstance(subsampling, str):
        subsampling = SUBSAMPLING_NAMES.get(subsampling, subsampling)
    try:
        subsampling = operator.index(subsampling)  # any integer, numpy's too, as Pillow's encoder takes it
    except TypeError:
        raise TypeError(f"'{type(subsampling).__name__}' object cannot be interpreted as an integer") from None
    subsampling = subsampling if -1 <= subsampling <= 2 else 2  # Pillow sets 4:2:0 for any other number
    options.update(quality=quality, subsampling=subsampling, qtables=qtables)
    return {k: v for k, v in options.items() if (k, v) not in (("qtables", None), ("subsampling", -1))}

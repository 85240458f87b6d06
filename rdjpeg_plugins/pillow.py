"""Pillow save format "RDJPEG": ``img.save(fp, "RDJPEG", quality=75)`` writes a standard JPEG.

Importing :mod:`rdjpeg_plugins` registers it. It claims no file extension (``.jpg`` stays Pillow's JPEG), so name the
format when saving. Every option of Pillow's JPEG save keeps its meaning (Pillow's own rules:
:mod:`rdjpeg.pillow_options`); rdjpeg adds ``target`` (``"ssimulacra2:80"``: the smallest file that measures at least
that), ``max_bytes``, ``backend``, the learned pipelines' ``metric``, ``prefilter`` and ``masking`` (the ``learned``
extra; see :func:`rdjpeg.make_plan`), and the chosen backend's own options (mozjpeg's ``table``). Without them the
file comes from rdjpeg's default encoder at the quality that gives this photo the look of Pillow's JPEG at
``quality`` on a typical one (``subsampling`` and restart markers too); options that only Pillow's encoder honours
(``qtables``, ``smooth``, ``keep_rgb``, …) make it Pillow's own JPEG save, byte for byte.

Modes follow Pillow's JPEG save: RGB, L, 1 (written as L), RGBX and YCbCr (written as RGB); CMYK is written by
Pillow's JPEG encoder unfiltered (the prefilter is trained on RGB); RGBA, LA, P, I, I;16 and F raise ``OSError`` as
Pillow's JPEG save does. Quality presets ("web_high", …), "keep" and table presets mean what they mean to Pillow.
The file is encoded completely in memory and written with one ``fp.write``: a failed save
writes nothing.
"""

from __future__ import annotations

import io

from PIL import Image

FORMAT = "RDJPEG"
AS_RGB = ("RGBX", "YCbCr")


def encode_image(im: Image.Image, info: dict) -> bytes:
    """The complete JPEG file for ``im`` with Pillow's ``encoderinfo`` (validated first; nothing is written).

    When rdjpeg would not change the pixels (no metric's edits, no target size) and Pillow's encoder writes it, the
    file is Pillow's own JPEG save of ``im`` with these options, byte for byte.
    """
    from rdjpeg.jpeg.backends import pillow_jpeg_bytes
    from rdjpeg.jpeg.tables import MAX_SIDE
    from rdjpeg.pillow_options import JPEG_MODES, explicit_options, pillow_quality
    from rdjpeg.plan import PLAN_OPTIONS, make_plan

    if im.mode not in JPEG_MODES:  # Pillow's first check, and its exception
        raise OSError(f"cannot write mode {im.mode} as {FORMAT} (JPEG holds RGB or grayscale; convert it first)")

    pillow_options = {k: v for k, v in info.items() if k not in PLAN_OPTIONS}  # for Pillow's own save, as given
    plan_options = {k: v for k, v in info.items() if k in PLAN_OPTIONS}
    options = explicit_options(im, pillow_options)
    if im.width == 0 or im.height == 0:
        raise ValueError("cannot write empty image")  # Pillow's JPEG save, word for word, after its option checks
    if max(im.size) > MAX_SIDE:  # Pillow's OSError, with the reason in it ("broken data stream" in Pillow's)
        raise OSError(f"JPEG is limited to {MAX_SIDE:,} pixels per side, got {im.width}×{im.height}")
    if "progression" in options:  # Pillow's other name: progressive = progressive or progression
        options["progressive"] = bool(options.pop("progression") or options.get("progressive", False))
    if "comment" not in options and "comment" in im.info:
        options["comment"] = im.info["comment"]  # as Pillow's JPEG save does
    if im.mode == "YCbCr":
        options.pop("keep_rgb", None)  # Pillow's JPEG save ignores it for YCbCr images, which it writes YCbCr-coded
    quality = options.pop("quality")  # Pillow's -1: the default, or custom tables as given, or no ceiling
    quality = None if quality == -1 else pillow_quality(quality)
    if im.mode == "CMYK":
        plan = make_plan(quality, **{"backend": "pillow", **plan_options}, **options)
        data = pillow_jpeg_bytes(im, **pillow_options)  # Pillow's own errors first, as for every other mode
        if plan.backend != "pillow" or plan.edits or plan.max_bytes is not None:
            raise ValueError(f"CMYK images are written unedited by Pillow's encoder; {sorted(plan_options)} do not "
                             "apply (convert to RGB first)")  # fmt: skip
        return data
    plan = make_plan(quality, **plan_options, **options)
    if plan.backend == "pillow" and not plan.edits and plan.max_bytes is None:
        return pillow_jpeg_bytes(im, **pillow_options)  # nothing to edit: Pillow's JPEG save, byte for byte
    image = im.convert("L") if im.mode == "1" else im.convert("RGB") if im.mode in AS_RGB else im
    return plan.encode(image, source=jpeg_source(im)).data


def jpeg_source(im: Image.Image) -> bytes | None:
    """The JPEG file ``im`` was opened from, when it can be read again (a path, or a file object still open) and
    still decodes to ``im``'s pixels (not edited in place since): the input a save must not make larger."""
    if im.format != "JPEG" or im.mode not in ("RGB", "L"):
        return None
    try:
        fp = getattr(im, "fp", None)
        if fp is not None and not getattr(fp, "closed", True):
            fp.seek(0)
            data = fp.read()
        elif isinstance(getattr(im, "filename", None), str) and im.filename:
            with open(im.filename, "rb") as f:
                data = f.read()
        else:
            return None
        with Image.open(io.BytesIO(data)) as again:
            same = again.mode == im.mode and again.size == im.size and again.tobytes() == im.tobytes()
    except (OSError, ValueError):
        return None
    return data if same else None


def _save(im: Image.Image, fp, filename: str | bytes) -> None:
    fp.write(encode_image(im, im.encoderinfo))


def register() -> None:
    """Register the save format and MIME type (idempotent); deliberately no extension."""
    Image.register_save(FORMAT, _save)
    Image.register_mime(FORMAT, "image/jpeg")

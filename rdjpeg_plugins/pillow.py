"""Pillow save format "RDJPEG": ``img.save(fp, "RDJPEG", quality=75, metric="mse")`` writes a standard JPEG.

Importing :mod:`rdjpeg_plugins` registers it. It claims no file extension (``.jpg`` stays Pillow's JPEG), so name the
format when saving. Every option of Pillow's JPEG save keeps its meaning; rdjpeg adds ``metric``, ``effort``,
``backend``, ``max_bytes``, ``prefilter`` and ``masking`` (see :func:`rdjpeg.encode`), and the chosen backend's own
options (mozjpeg's ``table``).

Modes follow Pillow's JPEG save: RGB, L, 1 (written as L), RGBX and YCbCr (written as RGB); CMYK is written by
Pillow's JPEG encoder unfiltered (the prefilter is trained on RGB); RGBA, LA, P, I, I;16 and F raise ``OSError`` as
Pillow's JPEG save does. The file is encoded completely in memory and written with one ``fp.write``: a failed save
writes nothing.
"""

from __future__ import annotations

from PIL import Image

FORMAT = "RDJPEG"
RDJPEG_OPTIONS = frozenset({"metric", "effort", "backend", "max_bytes", "prefilter", "masking"})
PILLOW_JPEG_OPTIONS = frozenset({
    "quality", "subsampling", "optimize", "progressive", "progression", "qtables", "exif", "icc_profile", "dpi",
    "comment", "restart_marker_blocks", "restart_marker_rows", "keep_rgb", "xmp", "smooth", "streamtype",
})  # fmt: skip
AS_RGB = ("RGBX", "YCbCr")


def encode_image(im: Image.Image, info: dict) -> bytes:
    """The complete JPEG file for ``im`` with Pillow's ``encoderinfo`` (validated first; nothing is written)."""
    if im.width == 0 or im.height == 0:
        raise ValueError("cannot write empty image")  # Pillow's JPEG save, word for word
    # rdjpeg imports torch (seconds): only on the first save, so that registering the format stays cheap.
    import rdjpeg
    from rdjpeg.jpeg.backends import pillow_jpeg_bytes
    from rdjpeg.plugins import get_backend
    from rdjpeg.validate import pillow_quality

    accepted = PILLOW_JPEG_OPTIONS | RDJPEG_OPTIONS | get_backend(info.get("backend", "pillow")).options
    unknown = set(info) - accepted
    if unknown:
        raise ValueError(f"unknown {FORMAT} save options {sorted(unknown)}; accepted: {sorted(accepted)}")
    options = dict(info)
    if options.get("quality") == "keep":
        raise ValueError(f'quality="keep" re-uses a JPEG\'s own tables and is not supported by {FORMAT}')
    quality = pillow_quality(options.pop("quality", -1))
    if options.get("qtables") is not None and info.get("quality", -1) == -1:
        quality = 50  # Pillow uses custom tables unscaled without a quality: libjpeg's scale at 50 is 100 %
    if options.pop("progression", False):
        options["progressive"] = True
    if "comment" not in options and "comment" in im.info:
        options["comment"] = im.info["comment"]  # as Pillow's JPEG save does
    settings = {k: options.pop(k) for k in RDJPEG_OPTIONS if k in options}
    if im.mode == "CMYK":
        unused = set(settings) - {"backend"}
        if unused or settings.get("backend", "pillow") != "pillow":
            raise ValueError(f"CMYK images are written unfiltered by Pillow's encoder; {sorted(settings)} do not "
                             "apply (convert to RGB for the prefilter)")  # fmt: skip
        return pillow_jpeg_bytes(im, quality=quality, **options)
    if im.mode == "1":
        im = im.convert("L")
    elif im.mode in AS_RGB:
        im = im.convert("RGB")
    elif im.mode not in ("RGB", "L"):
        raise OSError(f"cannot write mode {im.mode} as {FORMAT} (JPEG holds RGB or grayscale; convert it first)")
    if settings.get("max_bytes") is None or info.get("quality", -1) != -1:
        settings["quality"] = quality  # with max_bytes, only an explicit quality is passed: the search's ceiling
    im.load()
    return rdjpeg.encode(im, **settings, **options)


def _save(im: Image.Image, fp, filename: str | bytes) -> None:
    fp.write(encode_image(im, im.encoderinfo))


def register() -> None:
    """Register the save format and MIME type (idempotent); deliberately no extension."""
    Image.register_save(FORMAT, _save)
    Image.register_mime(FORMAT, "image/jpeg")

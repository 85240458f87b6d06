"""thumbor engine: thumbor's PIL engine, its JPEGs written by rdjpeg. In ``thumbor.conf``::

    ENGINE = "rdjpeg_plugins.thumbor"
    RDJPEG_TARGET = "ssimulacra2:80"  # optional: the smallest file at that score, per image
    FILTERS = [..., "rdjpeg_plugins.thumbor"]  # optional: the target(ssimulacra2:80) filter

A JPEG gets the options thumbor 7.8's PIL engine gives Pillow's JPEG save (``Engine.read``), through the Pillow format
"RDJPEG" (:mod:`rdjpeg_plugins.pillow`): ``QUALITY`` and the ``quality()`` filter mean the look of Pillow's JPEG at
that quality, written smaller by rdjpeg's default encoder (progressive); the ICC profile, ``PRESERVE_EXIF_INFO``,
``PRESERVE_EXIF_COPYRIGHT_INFO`` and ``PRESERVE_IPTC_INFO`` mean what they mean to thumbor. What only Pillow's encoder
writes — a baseline file (``PROGRESSIVE_JPEG = False``), the source's tables or subsampling
(``PILLOW_JPEG_QTABLES`` / ``PILLOW_JPEG_SUBSAMPLING``) — is Pillow's own JPEG save, byte for byte thumbor's file.
Every other format is the PIL engine's.

The file is chosen by the request's ``target()`` filter, else its ``quality()`` filter, else ``RDJPEG_TARGET``, else
``QUALITY``. A ``max_bytes()`` filter keeps thumbor's meaning (it retries at lower qualities), so it turns a target
off. A bad target or an image rdjpeg cannot write raises in ``read``: thumbor answers that request with its error
(500) and its error handler, and the worker goes on.
"""

from __future__ import annotations

import io

from JpegIPTC import JpegIPTC
from thumbor.config import Config
from thumbor.engines import pil
from thumbor.filters import BaseFilter, filter_method

Config.define("RDJPEG_TARGET", None, "rdjpeg: write each JPEG as the smallest file scoring at least this, such as "
              "'ssimulacra2:80' (None: at QUALITY)", "rdjpeg")  # fmt: skip
JPEG_EXTENSIONS = (".jpg", ".jpeg")


def checked_target(target: str) -> str:
    """``target`` ("ssimulacra2:80") normalized, or rdjpeg's ValueError/TypeError saying what is wrong."""
    from rdjpeg import make_plan

    return str(make_plan(target=target).target)


class Engine(pil.Engine):
    """thumbor's PIL engine whose JPEG output is rdjpeg's."""

    def read(self, extension=None, quality=None):
        """The encoded image: JPEG by rdjpeg, every other format by thumbor's PIL engine.

        thumbor's handler loads every image with its extension; one loaded without is left to the PIL engine, which
        chooses its format from the pixels.
        """
        ext = extension or self.extension
        if ext not in JPEG_EXTENSIONS:
            return super().read(extension, quality)
        options = self.jpeg_options(quality)
        target = self.target()
        if target is not None:
            del options["quality"]
            options["target"] = target
        buffer = io.BytesIO()
        self.image.save(buffer, "RDJPEG", **options)  # registered by this package's import
        data = buffer.getvalue()
        self.image.format = "JPEG"
        self.extension = ext
        if self.context.config.PRESERVE_IPTC_INFO:
            iptc = JpegIPTC()
            iptc.load_from_binarydata(data)
            iptc.set_raw_iptc(self.iptc)
            data = iptc.dump() or data
        return data

    def jpeg_options(self, quality) -> dict:
        """Pillow's JPEG save options as thumbor 7.8's PIL engine builds them (converting a non-RGB image to RGB)."""
        config = self.context.config
        # thumbor leaves the key out for a baseline file, which rdjpeg would read as its own default, progressive
        options = {"quality": quality, "optimize": True, "progressive": bool(config.PROGRESSIVE_JPEG)}
        if self.image.mode != "RGB":
            self.image = self.image.convert("RGB")
        elif config.PILLOW_JPEG_SUBSAMPLING is not None or config.PILLOW_JPEG_QTABLES is not None:
            options["quality"] = 0  # thumbor's: the tables decide ("keep" would fail on a resized image)
            keep_sampling = config.PILLOW_JPEG_SUBSAMPLING in ("keep", None) and self.subsampling is not None
            options["subsampling"] = self.subsampling if keep_sampling else config.PILLOW_JPEG_SUBSAMPLING
            keep_tables = config.PILLOW_JPEG_QTABLES in ("keep", None) and self.qtables and 2 <= len(self.qtables) <= 4
            options["qtables"] = self.qtables if keep_tables else config.PILLOW_JPEG_QTABLES
        if options["quality"] is None:
            options["quality"] = config.QUALITY
        if self.icc_profile is not None:
            options["icc_profile"] = self.icc_profile
        if config.PRESERVE_EXIF_COPYRIGHT_INFO is True and self.image.info.get("exif") is not None:
            exif_copyright = self.get_exif_copyright()
            if exif_copyright is not None:
                options["exif"] = exif_copyright
        if config.PRESERVE_EXIF_INFO and self.exif is not None:
            options["exif"] = self.exif
        return options

    def target(self) -> str | None:
        """The target of this request's file, or None for a quality (see the module's docstring for the order)."""
        request = self.context.request
        if request.max_bytes is not None:
            return None
        chosen = getattr(request, "rdjpeg_target", None)
        if chosen is not None:
            return chosen
        if request.quality is not None or self.context.config.RDJPEG_TARGET is None:
            return None
        return checked_target(self.context.config.RDJPEG_TARGET)


class Filter(BaseFilter):
    """``target(ssimulacra2:80)``: this request's JPEG is the smallest file scoring at least that."""

    @filter_method(BaseFilter.String)
    async def target(self, value):
        self.context.request.rdjpeg_target = checked_target(value)

"""sorl-thumbnail engine: ``THUMBNAIL_ENGINE = "rdjpeg_plugins.sorl.Engine"`` in Django's settings.

sorl's PIL engine, its JPEG thumbnails written by rdjpeg: ``THUMBNAIL_QUALITY`` and ``get_thumbnail(...,
quality=N)`` mean the look of Pillow's JPEG at that quality, written smaller (progressive); the kept ICC profile means
what it means to sorl (EXIF is dropped, as sorl drops it). A baseline file (``THUMBNAIL_PROGRESSIVE = False`` or
``progressive=False``) is what only Pillow's encoder writes: it is Pillow's own JPEG save, sorl's file byte for byte.
The file goes through the Pillow format "RDJPEG" (:mod:`rdjpeg_plugins.pillow`), validated before anything is
written; every other format is sorl's PIL engine's.
"""

from __future__ import annotations

import io

from sorl.thumbnail.engines import pil_engine


class Engine(pil_engine.Engine):
    """sorl-thumbnail 13.4's PIL engine whose JPEG output is rdjpeg's."""

    def _get_raw_data(self, image, format_, quality, image_info=None, progressive=False):
        """The thumbnail's file: for JPEG the options sorl's PIL engine gives Pillow's JPEG save (optimized, the ICC
        profile kept, progressive as asked), written by rdjpeg."""
        if format_ != "JPEG":
            return super()._get_raw_data(image, format_, quality, image_info=image_info, progressive=progressive)
        # sorl leaves the key out for a baseline file, which rdjpeg would read as its own default, progressive
        options = {"quality": quality, "optimize": 1, "progressive": bool(progressive)}
        if image_info and "icc_profile" in image_info:
            options["icc_profile"] = image_info["icc_profile"]
        buffer = io.BytesIO()
        (image[0] if isinstance(image, list) else image).save(buffer, "RDJPEG", **options)  # registered by this package
        return buffer.getvalue()

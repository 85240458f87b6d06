"""Willow operation: importing this module makes Willow's ``save_as_jpeg`` of Pillow images write rdjpeg's JPEG.

Wagtail's renditions go through it: add ``"rdjpeg_plugins.wagtail"`` to ``INSTALLED_APPS`` (or import this module
in any app's ``ready()``); ``WAGTAILIMAGES_JPEG_QUALITY`` and the ``jpegquality-N`` filter then mean the look of
Pillow's JPEG at that quality, written smaller. Willow's arguments keep their meaning (``quality``, ``optimize``,
``progressive``, the image's ICC profile and EXIF, Willow's optimizers afterwards); the file goes through the Pillow
format "RDJPEG" (:mod:`rdjpeg_plugins.pillow`), which validates everything before a byte is written.
"""

from __future__ import annotations

from willow.image import JPEGImageFile
from willow.plugins.pillow import PillowImage
from willow.registry import registry


def save_as_jpeg(self: PillowImage, f, quality: int = 85, optimize: bool = False, progressive: bool = False,
                 apply_optimizers: bool = True) -> JPEGImageFile:  # fmt: skip
    """Willow 1.12's ``PillowImage.save_as_jpeg``, its file written by rdjpeg: the same arguments, the same options
    to Pillow's save, in the format "RDJPEG"."""
    image = self.image.convert("RGB") if self.image.mode in ("1", "P") else self.image
    options = {"quality": quality}
    if optimize:
        options["optimize"] = True
    if progressive:
        options["progressive"] = True
    icc_profile = self.get_icc_profile()
    if icc_profile is not None:
        options["icc_profile"] = icc_profile
    exif_data = self.get_exif_data()
    if exif_data is not None:
        options["exif"] = exif_data
    image.save(f, "RDJPEG", **options)
    if apply_optimizers:
        self.optimize(f, "jpeg")
    return JPEGImageFile(f)


save_as_jpeg._willow_operation = True  # as Willow's ``Image.operation`` marks its own
# Willow finds an operation in its registry only for an image class without that method (its __getattr__), so a
# PillowImage, which has its own, gets this one as its method too.
registry.register_operation(PillowImage, "save_as_jpeg", save_as_jpeg)
PillowImage.save_as_jpeg = save_as_jpeg

"""imageio v3 plugin "RDJPEG": ``iio.imwrite(uri, arr, plugin="RDJPEG", quality=75)``.

Importing :mod:`rdjpeg_plugins` adds it to ``imageio.config.known_plugins`` (imageio's default for ``.jpg`` is not
changed). It takes the same options as the Pillow format (:mod:`rdjpeg_plugins.pillow`), writes one standard JPEG,
and returns the bytes when the URI is ``"<bytes>"``. Files are written atomically: a failed write leaves no file and
an existing file untouched. Reading is left to imageio's own plugins (the output is an ordinary JPEG).
``iio.imwrite(uri, arr, plugin="pillow", format="RDJPEG")`` works too, through the Pillow format.
"""

from __future__ import annotations

import numpy as np
from imageio.core.request import URI_BYTES, URI_FILENAME, InitializationError, IOMode, Request
from imageio.core.v3_plugin_api import PluginV3
from PIL import Image

from .pillow import encode_image

NAME = "RDJPEG"
JPEG_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".jfif", ".jif")


class RDJPEGPlugin(PluginV3):
    """Writes RD-optimized standard JPEGs (one image per file)."""

    def __init__(self, request: Request) -> None:
        super().__init__(request)
        if request.mode.io_mode != IOMode.write:
            raise InitializationError(f"{NAME} only writes; read its JPEGs with imageio's pillow plugin")
        extension = (request.extension or request.format_hint or "").lower()
        if extension and extension not in JPEG_EXTENSIONS:  # imageio answers OSError, as for its pillow plugin
            raise InitializationError(f"{NAME} writes JPEG files, not {extension!r}: name the file .jpg or pass "
                                      "extension='.jpg'")  # fmt: skip

    def write(self, ndimage, *, mode: str | None = None, format: str | None = None, is_batch: bool | None = None,
              **options) -> bytes | None:  # fmt: skip
        """Encode ``ndimage`` (uint8 (H, W), (H, W, 1) or (H, W, 3)) with Pillow-JPEG-style ``options``.

        ``mode``, ``format`` and ``is_batch`` mean what they mean to imageio's pillow plugin: the array's Pillow mode,
        the format (``RDJPEG``, or ``JPEG`` for the same), and whether the array is a batch (of one image here).
        """
        if format is not None and format.upper() not in (NAME, "JPEG", "JPG"):
            raise ValueError(f"{NAME} writes JPEG, not format={format!r}")
        if isinstance(ndimage, list) or is_batch:
            frames = list(ndimage) if isinstance(ndimage, list) else list(np.asarray(ndimage))
            if len(frames) != 1:
                raise ValueError(f"{NAME} writes one image per file, got a batch of {len(frames)}")
            ndimage = frames[0]
        from rdjpeg.validate import check_pixels  # rdjpeg loads on the first write: registering stays cheap

        a = np.ascontiguousarray(check_pixels(np.asarray(ndimage)))
        image = Image.fromarray(a, mode=mode) if mode else Image.fromarray(a)
        data = encode_image(image, options)
        kind = self.request._uri_type
        if kind == URI_BYTES:
            return data
        if kind == URI_FILENAME:
            from rdjpeg.files import write_atomically

            write_atomically(self.request.filename, data)
        else:
            self.request.get_file().write(data)
        return None

    def read(self, **kwargs):
        raise OSError(f"{NAME} only writes; read JPEGs with imageio's pillow plugin")

    def iter(self, **kwargs):
        raise OSError(f"{NAME} only writes; read JPEGs with imageio's pillow plugin")


def register() -> None:
    """Add the plugin to imageio's known plugins (idempotent)."""
    from imageio.config import known_plugins
    from imageio.config.plugins import PluginConfig

    known_plugins[NAME] = PluginConfig(name=NAME, class_name="RDJPEGPlugin", module_name=__name__)

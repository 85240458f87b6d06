"""An example third-party rdjpeg extension: a metric ("mae") and an encoder backend ("pillow-444").

Install it (``pip install ./integrations/third_party_extension``) and both appear in ``rdjpeg evaluate --metrics`` /
``--codecs`` and in ``rdjpeg.encode(metric=..., backend=...)``; or register the module at run time with
``rdjpeg.registry.extension_manager().register(module)``.
"""

from __future__ import annotations

from rdjpeg.hookspecs import hookimpl
from rdjpeg.jpeg.backends import PillowBackend
from rdjpeg.learned.metrics import Metric


class MeanAbsoluteError(Metric):
    """Mean absolute error of [0, 1] images (lower is better): a score for ``rdjpeg evaluate`` and, being
    differentiable, a loss for ``rdjpeg train prefilter --metric mae``."""

    name, higher_is_better, unit = "mae", False, ""

    def loss(self, x, y):
        return (x - y).abs().mean((1, 2, 3))

    score = loss


class Pillow444(PillowBackend):
    """Pillow's encoder with full-resolution chroma by default (for graphics and text)."""

    name = "pillow-444"

    def write(self, pixels, quality, **options):
        return super().write(pixels, quality, **{"subsampling": "4:4:4", **options})

    def subsampling(self, quality, **options):
        return "4:4:4"


@hookimpl
def rdjpeg_register_metrics(register):
    register(MeanAbsoluteError())


@hookimpl
def rdjpeg_register_backends(register):
    register(Pillow444())

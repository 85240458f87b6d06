"""rdjpeg's built-in extensions: the same hooks a third party implements (:mod:`rdjpeg.hookspecs`).

Each hook imports what it registers when the registry first asks for that kind: looking up an encoder backend, what
the default path does, loads no metric, network or torch. The metrics, prefilter models and evaluation codecs are the
learned stack's (:mod:`rdjpeg.learned`), which needs the ``learned`` extra.
"""

from __future__ import annotations

from .hookspecs import hookimpl


@hookimpl
def rdjpeg_register_backends(register) -> None:
    from .jpeg.backends import DefaultBackend, JpegliBackend, MozJPEGBackend, PillowBackend

    for backend in (PillowBackend, MozJPEGBackend, JpegliBackend, DefaultBackend):
        register(backend())


@hookimpl
def rdjpeg_register_metrics(register) -> None:
    from .learned.metrics import LPIPS, MSSSIM, PSNR, PSNRHVSM, SSIMULACRA2, Butteraugli, ButteraugliMax

    for metric in (PSNR, MSSSIM, LPIPS, SSIMULACRA2, Butteraugli, ButteraugliMax, PSNRHVSM):
        register(metric())


@hookimpl
def rdjpeg_register_models(register) -> None:
    """The shipped prefilters, one per metric."""
    import functools

    from .learned.models.prefilter import prefilter, pretrained_metrics

    for metric in pretrained_metrics():
        register(metric, functools.partial(prefilter, metric))


@hookimpl
def rdjpeg_register_codecs(register) -> None:
    """``rdjpeg[:option=…+…]`` in ``rdjpeg evaluate --codecs``: :func:`rdjpeg.encode` with those options."""
    from .learned.evaluate import rdjpeg_codec

    register("rdjpeg", rdjpeg_codec)

"""pluggy hook specifications: how metrics, encoder backends, prefilter models and evaluation codecs join rdjpeg.

An extension is any module or object with ``@hookimpl`` functions, announced in the ``rdjpeg`` entry-point group::

    [project.entry-points.rdjpeg]
    my_extension = "my_package.rdjpeg_extension"

The built-ins (:mod:`rdjpeg.builtins`) implement the same hooks; :func:`rdjpeg.registry.extension_manager` registers
them by module first, so that a source checkout works uninstalled, and then loads the entry points.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("rdjpeg")
hookimpl = pluggy.HookimplMarker("rdjpeg")


@hookspec
def rdjpeg_register_metrics(register: Callable[[Any], None]) -> None:
    """Call ``register(metric)`` for each distortion metric (see :class:`rdjpeg.learned.metrics.Metric`)."""


@hookspec
def rdjpeg_register_backends(register: Callable[[Any], None]) -> None:
    """Call ``register(backend)`` for each JPEG encoder backend (see :class:`rdjpeg.jpeg.backends.Backend`)."""


@hookspec
def rdjpeg_register_codecs(register: Callable[[str, Callable[[dict], Any]], None]) -> None:
    """Call ``register(name, factory)`` for each evaluation codec beyond the plain backends (``rdjpeg evaluate
    --codecs name:options``); ``factory(options)`` returns ``encode(pixels, quality) -> bytes``."""


@hookspec
def rdjpeg_register_models(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Call ``register(name, factory)`` for each prefilter model; ``factory(**kwargs)`` builds it."""

"""The extension manager (pluggy) and the registries it fills: metrics, encoder backends, prefilter models and
evaluation codecs, by name.

An *extension* is a module with ``@hookimpl`` functions (:mod:`rdjpeg.hookspecs`), announced in the ``rdjpeg``
entry-point group; rdjpeg's own are :mod:`rdjpeg.builtins`. ("Plugin" names the other direction in rdjpeg:
:mod:`rdjpeg_plugins` plugs rdjpeg into Pillow, imageio and the other hosts.)

Registries are built once and rebuilt only when the set of registered extensions changes (one registered or
unregistered on :func:`extension_manager`), so a backend or metric is the same object from one lookup to the next and
its caches (a backend's probed tables) last.

``RDJPEG_LOAD_EXTENSIONS`` chooses which installed distributions' ``rdjpeg`` entry points load, as llm's
``LLM_LOAD_PLUGINS`` does: unset, all of them; a comma-separated list of distribution names, only those; empty,
none. The built-ins always load, so a broken third-party extension can be switched off without uninstalling it.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs

BUILTINS = "rdjpeg.builtins"  # the built-in extensions' one module, registered under its entry point's name
LOAD_EXTENSIONS_ENV = "RDJPEG_LOAD_EXTENSIONS"
GROUP = "rdjpeg"


# "mse" names PSNR by its loss: the metric is registered as "psnr"; models and λ fits know it as "mse".
METRIC_ALIASES = {"mse": "psnr"}


def loss_name(metric: str) -> str:
    """The name models, masking and λ fits use for a metric: "mse" for PSNR, the metric's own name otherwise."""
    return {registered: alias for alias, registered in METRIC_ALIASES.items()}.get(metric, metric)


class UnknownNameError(LookupError, ValueError):
    """No registered metric, backend, model or codec has that name (a ValueError too, for callers that catch it)."""


@functools.cache
def extension_manager() -> pluggy.PluginManager:
    """The process-wide extension manager: built-ins first, then the ``rdjpeg`` entry points that may load."""
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    # Built-ins are ordinary entry points too; registering them by name first keeps a source checkout that is not
    # installed working, and entry points of names already registered are skipped.
    pm.register(importlib.import_module(BUILTINS), name=BUILTINS.split(".")[-1])
    chosen = os.environ.get(LOAD_EXTENSIONS_ENV)
    if chosen is None:
        pm.load_setuptools_entrypoints(GROUP)
    else:
        for distribution in filter(None, (name.strip() for name in chosen.split(","))):
            try:
                entries = metadata.distribution(distribution).entry_points
            except metadata.PackageNotFoundError:
                raise ValueError(f"{LOAD_EXTENSIONS_ENV} names {distribution!r}, which is not installed") from None
            for entry in entries:
                if entry.group == GROUP and pm.get_plugin(entry.name) is None:
                    pm.register(entry.load(), name=entry.name)
    return pm


_HOOKS = {"metric": "rdjpeg_register_metrics", "backend": "rdjpeg_register_backends",
          "prefilter model": "rdjpeg_register_models", "codec": "rdjpeg_register_codecs"}  # fmt: skip
_REGISTRIES: dict[str, tuple[dict[int, Any], dict[str, Any]]] = {}


def _registry(kind: str) -> dict[str, Any]:
    pm = extension_manager()
    # Ids with their objects, which the cache holds: the id of an object since freed can be a new object's.
    plugins = {id(plugin): plugin for plugin in pm.get_plugins()}
    cached = _REGISTRIES.get(kind)
    if cached is not None and cached[0].keys() == plugins.keys():
        return cached[1]
    found: dict[str, Any] = {}

    def register(item: Any, factory: Any = None) -> None:
        name, value = (item, factory) if factory is not None else (item.name, item)
        if name in found:
            raise ValueError(f"two extensions register a {kind} named {name!r}")
        found[name] = value

    getattr(pm.hook, _HOOKS[kind])(register=register)
    _REGISTRIES[kind] = (plugins, found)
    return found


def metrics() -> dict[str, Any]:
    """Every registered metric, by name."""
    return _registry("metric")


def backends() -> dict[str, Any]:
    """Every registered encoder backend, by name."""
    return _registry("backend")


def models() -> dict[str, Callable[..., Any]]:
    """Every registered prefilter model factory, by name."""
    return _registry("prefilter model")


def codecs() -> dict[str, Callable[[dict], Any]]:
    """Every registered evaluation codec factory, by name (the backends are codecs too, see rdjpeg.learned.evaluate)."""
    return _registry("codec")


def _lookup(kind: str, name: str) -> Any:
    registry = _registry(kind)
    if name not in registry:
        raise UnknownNameError(f"unknown {kind} {name!r}; available: {', '.join(sorted(registry))}")
    return registry[name]


def get_metric(name: str) -> Any:
    """The metric registered as ``name``, or under the name an alias (:data:`METRIC_ALIASES`) stands for."""
    return _lookup("metric", METRIC_ALIASES.get(name, name))


def get_backend(name: str) -> Any:
    return _lookup("backend", name)


def get_model(name: str) -> Callable[..., Any]:
    return _lookup("prefilter model", name)

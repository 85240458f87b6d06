"""The plugin manager and the registries it fills."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pluggy

from . import hookspecs

BUILTINS = ("rdjpeg.metrics", "rdjpeg.backends", "rdjpeg.prefilter")


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager: built-ins first, then every ``rdjpeg`` entry point."""
    import importlib

    pm = pluggy.PluginManager("rdjpeg")
    pm.add_hookspecs(hookspecs)
    # Built-ins are ordinary entry points too; registering them by name first keeps a source checkout that is not
    # installed working, and load_setuptools_entrypoints skips names that are already registered.
    for name in BUILTINS:
        pm.register(importlib.import_module(name), name=name.split(".")[-1])
    pm.load_setuptools_entrypoints("rdjpeg")
    return pm


def _collect(hook: Callable[..., Any], kind: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def register(item: Any, factory: Any = None) -> None:
        name, value = (item, factory) if factory is not None else (item.name, item)
        if name in found:
            raise ValueError(f"two plugins register a {kind} named {name!r}")
        found[name] = value

    hook(register=register)
    return found


def metrics() -> dict[str, Any]:
    """Every registered metric, by name."""
    return _collect(plugin_manager().hook.rdjpeg_register_metrics, "metric")


def backends() -> dict[str, Any]:
    """Every registered encoder backend, by name."""
    return _collect(plugin_manager().hook.rdjpeg_register_backends, "backend")


def models() -> dict[str, Callable[..., Any]]:
    """Every registered prefilter model factory, by name."""
    return _collect(plugin_manager().hook.rdjpeg_register_models, "model")


def _lookup(registry: dict[str, Any], name: str, kind: str) -> Any:
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; available: {', '.join(sorted(registry))}")
    return registry[name]


def get_metric(name: str) -> Any:
    return _lookup(metrics(), name, "metric")


def get_backend(name: str) -> Any:
    return _lookup(backends(), name, "backend")


def get_model(name: str) -> Callable[..., Any]:
    return _lookup(models(), name, "prefilter model")

"""The learned stack's weights files: safetensors (no pickle) read, checked and written, and the shipped models kept
once per device."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save

from ..files import write_atomically

_SHIPPED: dict[tuple[str, str], Any] = {}


def shipped_model(name: str, device: torch.device | str, build: Callable[[], Any]) -> Any:
    """The model ``build()`` makes of the shipped weights ``name``, built once per device and shared (one copy per
    device, never moved, so one device's use cannot break another's): copy it before fine-tuning or moving it."""
    key = (name, str(torch.device(device)))
    if key not in _SHIPPED:
        with torch.inference_mode(False):  # cached: its weights must stay usable with autograd
            _SHIPPED[key] = build()
    return _SHIPPED[key]


def save_safetensors(tensors: dict, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Tensors as a safetensors file (no pickle), written atomically."""
    write_atomically(path, save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, metadata))


def read_weights(path: str, what: str) -> tuple[dict, dict[str, str]]:
    """(tensors, metadata) of a safetensors file (no pickle). ValueError naming ``what`` for a file that cannot be
    read or holds NaN or infinite values; FileNotFoundError when there is none."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what}: no file at {path!r}")
    try:
        with safe_open(path, "pt") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 — safe_open has no iteration
    except Exception as error:
        raise ValueError(f"{what}: {path!r} is not a readable safetensors file ({type(error).__name__})") from None
    bad = [key for key, value in tensors.items() if value.is_floating_point() and not torch.isfinite(value).all()]
    if bad:
        raise ValueError(f"{what}: {path!r} holds NaN or infinite values ({', '.join(bad[:3])})")
    return tensors, metadata


def load_weights(model, state: dict, path: str, what: str):
    """``model`` with ``state`` loaded; ValueError naming ``what`` when names or shapes do not fit."""
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise ValueError(f"{what}: {path!r} does not fit the model ({first[1].strip() if len(first) > 1 else ''})"
                         ) from None  # fmt: skip
    return model

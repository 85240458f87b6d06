"""The files rdjpeg ships beside its code: the look predictor, the gray quality map and the learned stack's weights
(README.md here says what made each). Nothing is ever downloaded."""

from __future__ import annotations

import importlib.resources
import json


def path(name: str) -> str:
    """The path of the shipped file ``name`` (e.g. ``"look.json"``, ``"rate.safetensors"``)."""
    return str(importlib.resources.files(__name__) / name)


def read_json(name: str) -> dict:
    """The shipped JSON file ``name``."""
    return json.loads(importlib.resources.files(__name__).joinpath(name).read_text())


def names() -> list[str]:
    """Every shipped file's name."""
    return sorted(p.name for p in importlib.resources.files(__name__).iterdir() if p.is_file())

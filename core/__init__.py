"""rdjpeg: rate-distortion-optimized JPEG for the image tools people already use.

The names below load on first use, so that ``import rdjpeg`` and the default encode path stay light: torch and
the learned pipelines load only when one of them is used (``rdjpeg.encode(image, 75, metric="mse")``,
``rdjpeg.Prefilter``, the simulator).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {  # name → the module that defines it
    "Encoded": "targets", "Plan": "plan", "Target": "targets", "TargetNotReached": "targets", "encode": "plan",
    "encode_to_size": "plan", "encode_to_target": "plan", "make_plan": "plan",
    "DiffJPEG": "jpeg.simulator", "JPEGSimulation": "jpeg.simulator", "diff_jpeg": "jpeg.simulator",
    "quality_tables": "jpeg.simulator", "simulate_jpeg": "jpeg.simulator",
    "estimate_lambda": "models.lagrangian", "fast_lambda": "models.lagrangian",
    "AdaptiveMasking": "models.masking", "adaptive_masking": "models.masking",
    "Prefilter": "models.prefilter", "prefilter": "models.prefilter",
    "RateEstimator": "models.rate", "estimate_bits": "models.rate",
}  # fmt: skip
__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rdjpeg' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

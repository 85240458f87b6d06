"""rdjpeg: smaller JPEGs at the look you ask for, from the image tools people already use.

The product: :func:`encode`, :func:`make_plan` and targets (jpegli at the quality that gives this photo the asked
look). The names below load on first use, so ``import rdjpeg`` stays light; the learned stack's names
(``Prefilter``, the simulator, λ, masking, the rate network) come from :mod:`rdjpeg.learned`, which needs the
``learned`` extra.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {  # name → the module that defines it
    "Encoded": "targets", "Plan": "plan", "Target": "targets", "TargetNotReached": "targets", "encode": "plan",
    "encode_to_size": "plan", "encode_to_target": "plan", "make_plan": "plan",
    "DiffJPEG": "learned.simulator", "JPEGSimulation": "learned.simulator", "diff_jpeg": "learned.simulator",
    "quality_tables": "learned.simulator", "simulate_jpeg": "learned.simulator",
    "estimate_lambda": "learned.models.lagrangian", "fast_lambda": "learned.models.lagrangian",
    "AdaptiveMasking": "learned.models.masking", "adaptive_masking": "learned.models.masking",
    "Prefilter": "learned.models.prefilter", "prefilter": "learned.models.prefilter",
    "RateEstimator": "learned.models.rate", "estimate_bits": "learned.models.rate",
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

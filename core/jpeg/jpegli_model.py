"""The simulator's model of jpegli, the default backend's encoder: its quantization tables and its dead zone.

jpegli quantizes with an adaptive dead zone: it zeroes a coefficient whose magnitude is below a per-coefficient
threshold (in quantization steps) that its adaptive quantization field raises in busy blocks, where libjpeg rounds
at ½. The model keeps one threshold per quality, component class and coefficient, fitted to jpegli's real levels
on training images by ``benchmarks/jpegli_dead_zone.py`` (``weights/jpegli-dead-zone.json``; agreement with the real
levels in BENCHMARKS.md). Between fitted qualities the thresholds are interpolated linearly.
"""

from __future__ import annotations

import functools
import importlib.resources
import json

import numpy as np
import torch
from torch import Tensor

from .backends import JpegliBackend
from .simulator import simulate

_JPEGLI = JpegliBackend()  # its probed tables are cached on it
QUALITIES = tuple(range(20, 100, 5))  # where the dead zone is fitted; outside, the nearest fit holds


@functools.cache
def _fit() -> tuple[np.ndarray, np.ndarray]:
    record = json.loads((importlib.resources.files("rdjpeg") / "weights" / "jpegli-dead-zone.json").read_text())
    return np.asarray(record["qualities"], np.float64), np.asarray(record["thresholds"], np.float64)


def dead_zone(quality: Tensor) -> Tensor:
    """(B, 2, 8, 8) float64 thresholds in steps (luma, chroma) for jpegli at each quality of (B,) ``quality``."""
    qualities, thresholds = _fit()
    q = np.clip(quality.detach().cpu().double().numpy(), qualities[0], qualities[-1])
    i = np.clip(np.searchsorted(qualities, q, side="right"), 1, len(qualities) - 1)
    t = ((q - qualities[i - 1]) / (qualities[i] - qualities[i - 1]))[:, None, None]
    zone = thresholds[i - 1] + t * (thresholds[i] - thresholds[i - 1])
    return torch.from_numpy(zone.reshape(-1, 2, 8, 8)).to(quality.device)


def tables(quality: Tensor) -> Tensor:
    """(B, 2, 8, 8) int64 quantization tables jpegli writes at each quality of (B,) ``quality`` (probed once each)."""
    return torch.stack([torch.from_numpy(_JPEGLI.tables(int(q)).astype(np.int64)) for q in quality.tolist()]).to(
        quality.device
    )


def simulate_jpegli(x: Tensor, quality: Tensor, rounding: str = "mask", decode: bool = True):
    """:func:`~rdjpeg.jpeg.simulator.simulate` of jpegli at (B,) ``quality``: its tables, its 4:2:0, its dead zone."""
    return simulate(x, None, "4:2:0", rounding, tables(quality), decode=decode, dead_zone=dead_zone(quality).to(x))

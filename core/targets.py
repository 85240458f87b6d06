"""Targets (``target="ssimulacra2:80"``): the smallest file whose score against the original is at least the target,
no lower than the quality butteraugli's worst case allows (:func:`least_quality`), and what an encode reports
(:class:`Encoded`).

The search (:func:`search`) encodes a quality, decodes the file with Pillow and scores it (:mod:`rdjpeg.scores`);
the next quality comes from a predicted curve of this image's scores (:mod:`rdjpeg.look`; for a large photo first
moved through a sample's score, :func:`calibrated`) shifted through what was measured, or from the measured points
alone. A file in the window [target, target + 2] ends it, after one step down when the measured curve says the next
lower quality passes too, or the least quality's file when that is above the window. The window is narrowed by
guards that keep the result inside it by libjxl's own binary as well: rdjpeg's SSIMULACRA2 computes libjxl's
algorithm but scores a little higher near the top (:data:`GUARD_BELOW`, measured on training images; BENCHMARKS.md,
"SSIMULACRA2 in numpy").
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .look import lowest_quality

# name → (lowest, highest) target; higher is better. butteraugli stays a judge: nothing here aims at it.
TARGET_METRICS = {"ssimulacra2": (10.0, 99.0), "psnr": (20.0, 60.0)}
WINDOW = 2.0  # a search ends on a file scoring in [target, target + WINDOW]
# (target, points): the 95th percentile of rdjpeg's SSIMULACRA2 minus libjxl's binary at that look, on training
# images: the window's low end is raised by it (interpolated), so that libjxl too scores the file at the target.
GUARD_BELOW = ((60, 0.1), (74, 0.16), (81, 0.28), (86, 0.48), (90, 0.94))
GUARD_ABOVE = 0.1  # rdjpeg's score is not measurably below libjxl's: a small margin at the window's top end
AIM = 0.2  # where the guesses aim inside the window, from its low end: fewer bytes, no more encodes (simulated on
STEP_DOWN = 0.8  # training images): after a hit, one lower quality is tried if predicted to pass by this margin
MAX_TRIALS = 8  # encodes (and scorings) at most; the best file that reaches the target so far is kept
SLOPE = {"ssimulacra2": 0.6, "psnr": 0.15}  # a typical score gain per quality step, for a search with no curve
# From this many pixels, the predicted curve is first moved through the score of a sample (SAMPLE_TILES² tiles of
# SAMPLE_TILE pixels, evenly spread: 4 MP, whatever the photo), at a sixth of a full scoring's cost at 24 MP: the
# predictor, fitted on photos under 0.5 MP, was 1.4 to 2.8 points low on 24 MP ones, the sample 0.1 to 0.8 high
# (Kodak tiled: BENCHMARKS.md, "Targets at camera scale"). Encoded.encodes and .scorings count whole-photo ones.
SAMPLE_FROM, SAMPLE_TILE, SAMPLE_TILES = 8_000_000, 512, 4


# Butteraugli's worst case (issue 31; BENCHMARKS.md, "Target mode on two judges"): SSIMULACRA2 alone lets some photos
# down to qualities at which butteraugli judges them worse than one fixed quality of the same total bytes would. So no
# file is written at a jpegli distance (the butteraugli distance jpegli quantizes for) above DISTANCE_CEILING times
# that of the quality at which the training photos' mean curve reaches the search's aim, for targets up to
# CEILING_UP_TO; above it that quality nears 100 (many photos' 4:2:0 files stop short), and a ceiling from it cost
# 20–24 % bytes on the training photos.
DISTANCE_CEILING, CEILING_UP_TO = 1.15, 85.0


class TargetNotReached(UserWarning):
    """The image's best file is below the target: it is written, and this says so."""


@dataclass(frozen=True)
class Target:
    """A score to reach: ``metric`` (:data:`TARGET_METRICS`) at least ``value``."""

    metric: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric}:{self.value:g}"


def parse_target(target) -> Target:
    """A :class:`Target` from ``"metric:value"`` (or a Target); TypeError for another type, ValueError for an unknown
    metric, a value that is not a number or one out of the metric's range.

    Example:
        >>> parse_target("ssimulacra2:80")
        Target(metric='ssimulacra2', value=80.0)
    """
    if isinstance(target, Target):
        metric, value = target.metric, target.value
    elif isinstance(target, str):
        metric, _, text = target.partition(":")
        metric = metric.strip().lower()
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"a target is 'metric:value', such as 'ssimulacra2:80', got {target!r}") from None
    else:
        raise TypeError(f"target must be a string such as 'ssimulacra2:80', got {type(target).__name__}")
    if metric not in TARGET_METRICS:
        raise ValueError(f"unknown target metric {metric!r}; targets: {', '.join(TARGET_METRICS)} (butteraugli "
                         "stays a judge, never a target)")  # fmt: skip
    low, high = TARGET_METRICS[metric]
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"a {metric} target must lie in {low:g}..{high:g}, got {value:g}")
    return Target(metric, float(value))


class Encoded(NamedTuple):
    """A written file and how it was chosen.

    ``quality``: the quality it was written at: the one asked for or chosen by ``max_bytes`` (on the backend's
    scale: Pillow's for the default), or with a target the encoder's own (jpegli's, gray included). ``score``:
    the target metric's measured score (None without a target, and unmeasured for an image with no score: SSIMULACRA2
    under 8×8 pixels); ``reached``: whether it is measured at least the target;
    ``encodes`` and ``scorings``: what the choice cost; ``lossless``: the file is the JPEG input, losslessly
    optimized, because no re-encode at the asked look was smaller.
    """

    data: bytes
    quality: int
    score: float | None = None
    reached: bool = True
    encodes: int = 1
    scorings: int = 0
    lossless: bool = False


def window(target: Target) -> tuple[float, float]:
    """The scores a search ends on, (low, high): [target, target + :data:`WINDOW`] narrowed by the guards."""
    guard = float(np.interp(target.value, *zip(*GUARD_BELOW, strict=True))) if target.metric == "ssimulacra2" else 0.0
    return target.value + guard, target.value + WINDOW - GUARD_ABOVE


def aim(target: Target) -> float:
    """The score the search's guesses aim at (:data:`AIM`)."""
    low, high = window(target)
    return low + AIM * (high - low)


def sample(pixels: np.ndarray) -> np.ndarray:
    """:data:`SAMPLE_TILES` × :data:`SAMPLE_TILES` tiles of :data:`SAMPLE_TILE` pixels evenly spread over an image at
    least that large, side by side as one image (their corners on the 16×16 grid of JPEG's blocks)."""
    h, w = pixels.shape[:2]
    ys, xs = (np.linspace(0, n - SAMPLE_TILE, SAMPLE_TILES).astype(int) // 16 * 16 for n in (h, w))
    return np.concatenate([np.concatenate([pixels[y : y + SAMPLE_TILE, x : x + SAMPLE_TILE] for x in xs], 1)
                           for y in ys])  # fmt: skip


def least_quality(typical: np.ndarray, target: Target, distance: Callable[[int], float]) -> int:
    """The lowest quality a search for ``target`` may write at (:data:`DISTANCE_CEILING`): ``typical``, the training
    photos' mean score at each quality 1..100; ``distance``, the encoder's butteraugli distance at a quality."""
    if target.metric != "ssimulacra2" or target.value > CEILING_UP_TO:
        return 1
    ceiling = DISTANCE_CEILING * distance(lowest_quality(typical, aim(target)))
    return next(q for q in range(1, 101) if distance(q) <= ceiling)


def calibrated(curve: np.ndarray, target: Target, score_at: Callable[[int], float]) -> np.ndarray:
    """The predicted curve moved through a sample's score (``score_at(q)``), so that the search's first guess is
    the quality whose sample scores the middle of the window: the margin above the aim is the sample's excess over
    the whole photo (on 24 MP photos, fewer encodes and fewer bytes than the aim itself)."""
    low, high = window(target)
    q = lowest_quality(curve, (low + high) / 2)
    return curve + (score_at(q) - curve[q - 1]) - ((low + high) / 2 - aim(target))


def search(write: Callable[[int], bytes], score: Callable[[bytes], float], target: Target,
           curve: np.ndarray | None = None, start: int = 75, least: int = 1) -> Encoded:  # fmt: skip
    """The smallest-quality file whose score is at least the target (and the guard), ending on one inside the
    window, or at quality ``least`` when that is already above it; ``curve``: the predicted score at every quality
    1..100 (its first guess and its shape), else ``start`` and :data:`SLOPE`. Warns :class:`TargetNotReached` when
    quality 100 is below the target."""
    (low, high), aim_at = window(target), aim(target)
    scores: dict[int, float] = {}
    files: dict[int, bytes] = {}

    def trial(q: int) -> None:
        files[q] = write(q)
        scores[q] = score(files[q])

    q = max(least, lowest_quality(curve, aim_at) if curve is not None else start)
    for _ in range(MAX_TRIALS):
        trial(q)
        best = min((k for k, s in scores.items() if s >= low), default=None)
        failing = max((k for k, s in scores.items() if s < low), default=least - 1)
        if best is not None and (scores[best] <= high or best == least):
            lower = best - 1
            if lower > failing and lower not in scores and len(scores) < MAX_TRIALS and \
                    _predicted(lower, best, scores[best], curve, target.metric) >= low + STEP_DOWN:  # fmt: skip
                trial(lower)
            break
        upper = best if best is not None else 101
        if upper - failing <= 1:  # no quality left between a failing and a passing one (or above 100)
            break
        q = min(upper - 1, max(failing + 1, _next_quality(q, scores[q], aim_at, curve, target.metric, scores)))
        if q in scores:  # the guess came back to a tried quality: halve the interval instead
            q = (failing + upper) // 2
            if q in scores:
                break
    best = min((k for k, s in scores.items() if s >= low), default=None)
    if best is None:  # nothing reached: the highest quality tried is the best file
        best = max(scores)
        warnings.warn(f"{target} is out of reach for this image: its best file scores {scores[best]:.2f}",
                      TargetNotReached, stacklevel=3)  # fmt: skip
    return Encoded(files[best], best, scores[best], scores[best] >= target.value, len(scores), len(scores))


def _predicted(q: int, known: int, measured: float, curve, metric: str) -> float:
    """The score predicted at quality ``q`` from the one measured at ``known``: the curve through the measurement,
    or the typical slope."""
    if curve is not None:
        return float(curve[q - 1] + measured - curve[known - 1])
    return measured + (q - known) * SLOPE[metric]


def _next_quality(q: int, measured: float, aim: float, curve, metric: str, scores: dict[int, float]) -> int:
    """The next quality to try: the predicted curve through the last measurement, inverted at ``aim``; without a
    curve, a secant through the two measurements nearest the aim (or the typical slope after one)."""
    if curve is not None:
        return lowest_quality(curve + (measured - curve[q - 1]), aim)
    if len(scores) >= 2:
        (q1, s1), (q2, s2) = sorted(scores.items(), key=lambda item: abs(item[1] - aim))[:2]
        if s1 != s2:
            return round(q1 + (aim - s1) * (q2 - q1) / (s2 - s1))
    return round(q + (aim - measured) / SLOPE[metric])

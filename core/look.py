"""The look of a photo before it is encoded: the SSIMULACRA2 and the size each jpegli quality gives *this* image,
predicted from cheap features of its pixels, in numpy and Pillow (no torch; about 2 ms, whatever the size).

The model (``weights/look.json``, fitted on training images by ``rdjpeg train look``, its command and record in the
file): per jpegli quality of :data:`QUALITIES` and per chroma subsampling (4:2:0 and 4:4:4), a ridge regression of
SSIMULACRA2 and of log bits per pixel on the standardized :func:`features` and their squares; between them, linear
interpolation. It also holds the look of Pillow's JPEG at each quality for a typical training photo (the mean over
them): ``quality=q`` writes jpegli's quality of that mean look (:meth:`Look.quality`). For a target,
:meth:`Look.subsampling` chooses the subsampling predicted to reach it in fewer bytes.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from . import weights

QUALITIES = (*range(5, 86, 5), 88, 90, 92, 94, 96, 98, 100)  # jpegli qualities the predictor is fitted at
FEATURES = (
    "log_pixels", "luma_var_p10", "luma_var_p50", "luma_var_p90", "luma_var_mean", "flat_blocks", "quiet_blocks",
    "busy_blocks", "fine_mean", "fine_p25", "fine_p50", "fine_p75", "fine_p90", "fine_share", "luma_level",
    "luma_contrast", "cb_var8", "cb_var8_spread", "cb_var16", "cb_level", "cr_var8", "cr_var8_spread", "cr_var16",
    "cr_level",
)  # fmt: skip
CURVES = {"4:2:0": "", "4:4:4": "_444"}  # subsampling → suffix of its models' names in look.json (4:2:2: none)
# 4:2:0 is chosen for a look only when its predicted curve passes the look by this much at quality 100: below it
# the prediction's error (cross-validated RMSE near 1.8 there) would leave photos short of a target.
REACH = 1.5
MIN_SIDE = 16  # smaller images get the training photos' mean features (the typical curve)
TILE, MOST_TILES = 128, 12  # larger images are measured on this many 128×128 tiles spread over them


def _block_sums(x: np.ndarray, n: int) -> np.ndarray:
    """Sums over n×n blocks of a uint8 or uint16 array (H, W) or (H, W, C) whose sides are multiples of n, as uint32
    (H/n, W/n[, C]): integer sums, exact, with no full-size temporary. Across columns, n strided adds: a reduction
    over an axis of n with channels after it is about 3× slower."""
    h, w = x.shape[:2]
    rows = x.reshape(h // n, n, -1).sum(1, dtype=np.uint32).reshape(h // n, w // n, n, -1)
    out = rows[:, :, 0].copy()
    for k in range(1, n):
        out += rows[:, :, k]
    return out.reshape(h // n, w // n, *x.shape[2:])


def _moments(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per n×n block (and channel) of uint8 samples: (mean, mean of squares), float64."""
    squares = np.square(x, dtype=np.uint16)  # 255² fits
    return _block_sums(x, n) / (n * n), _block_sums(squares, n) / (n * n)


def _variance(mean: np.ndarray, square: np.ndarray) -> np.ndarray:
    return np.maximum(square - mean * mean, 0)


def _halve(grid: np.ndarray) -> np.ndarray:
    """2×2 means of a grid with even sides."""
    return (grid[0::2, 0::2] + grid[1::2, 0::2] + grid[0::2, 1::2] + grid[1::2, 1::2]) * 0.25


def _quantiles(x: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Nearest-rank quantiles, from one partial sort."""
    ranks = [round(q * (x.size - 1)) for q in qs]
    part = np.partition(x.ravel(), ranks)
    return [float(part[r]) for r in ranks]


def _sample(pixels: np.ndarray) -> np.ndarray:
    """The pixels the features are measured on: the image cropped to whole 16×16 blocks, or, when it has more than
    :data:`MOST_TILES` tiles of :data:`TILE` pixels, that many of them, evenly spread, stacked into one column (every
    feature is a distribution of block statistics, which a spread sample estimates: the predictor's cross-validated
    error is that of the whole image, BENCHMARKS.md; and the cost stops growing with the image)."""
    h, w = pixels.shape[:2]
    rows, cols = h // TILE, w // TILE
    if rows * cols <= MOST_TILES:
        return pixels[: h - h % 16, : w - w % 16]
    picked = np.linspace(0, rows * cols - 1, MOST_TILES).round().astype(int)
    return np.concatenate([pixels[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE]
                           for r, c in zip(*np.divmod(picked, cols), strict=True)])  # fmt: skip


def features(pixels: np.ndarray) -> np.ndarray | None:
    """:data:`FEATURES` of uint8 pixels (H, W, 3) or (H, W), as float64, measured on :func:`_sample`'s pixels: the
    image's size; the distribution of the log variance of 8×8 luma blocks (what JPEG quantizes) and the shares of flat,
    quiet and busy ones; the distribution of their fine detail (a block's variance minus that of its 2×2 means: what
    high-frequency quantization drops first, the strongest feature); the luma's level and contrast; the activity of
    8×8 and 16×16 chroma blocks, from the 2×2 means as 4:2:0 sees them, and the chroma level (zeros for gray).

    Pillow's integer luma and YCbCr (BT.601, as JPEG's) and integer block sums: no full-size float copy, whose
    allocation alone would double the time. None for an image under :data:`MIN_SIDE` pixels a side: the predictor
    then uses the typical curve.
    """
    h, w = pixels.shape[:2]
    if min(h, w) < MIN_SIDE:
        return None
    image = Image.fromarray(_sample(pixels))
    small = image.reduce(2)  # 2×2 means
    rgb = image.mode == "RGB"
    y = np.asarray(image.convert("L") if rgb else image)
    # per 8×8 pixels (4×4 of the 2×2 means), per channel: Y's cells, Cb, Cr (gray: its cells alone)
    cells = np.asarray(small.convert("YCbCr")) if rgb else np.asarray(small)[..., None]
    cell_mean, cell_square = _moments(cells, 4)
    mean, square = _moments(y, 8)
    var = _variance(mean, square)
    fine = np.maximum(var - _variance(cell_mean[..., 0], cell_square[..., 0]), 0)
    log_var, log_fine = np.log1p(var), np.log1p(fine)
    level, blocks = float(mean.mean()), var.size
    out = [np.log(h * w), *_quantiles(log_var, (0.1, 0.5, 0.9)), log_var.mean(), np.count_nonzero(var < 2) / blocks,
           np.count_nonzero(var < 20) / blocks, np.count_nonzero(var > 100) / blocks, log_fine.mean(),
           *_quantiles(log_fine, (0.25, 0.5, 0.75, 0.9)), fine.sum() / (var.sum() + 1e-3), level / 255,
           np.sqrt(max(float(square.mean()) - level * level, 0)) / 255]  # fmt: skip
    if not rgb:
        return np.asarray(out + [0.0] * 8, np.float64)
    for c in (1, 2):
        mean8, square8 = cell_mean[..., c], cell_square[..., c]
        log8 = np.log1p(_variance(mean8, square8))
        mean16 = _halve(mean8)
        out += [log8.mean(), log8.std(), np.log1p(_variance(mean16, _halve(square8))).mean(),
                np.log1p(np.abs(mean16 - 128).mean())]  # fmt: skip
    return np.asarray(out, np.float64)


def nearest_quality(curve: np.ndarray, score: float) -> int:
    """The quality 1..100 whose curve value is nearest ``score`` (the lowest of equals)."""
    return int(np.argmin(np.abs(curve - score))) + 1


def lowest_quality(curve: np.ndarray, score: float) -> int:
    """The lowest quality 1..100 whose curve value (a score at each quality 1..100) is at least ``score``; 100 when
    none is."""
    reached = np.nonzero(curve >= score)[0]
    return int(reached[0]) + 1 if len(reached) else 100


class Look:
    """The fitted predictor (``weights/look.json``): ``ssimulacra2(f, subsampling)`` and ``bpp(f, subsampling)`` at
    every jpegli quality 1..100 for features ``f`` (None: the training photos' mean), ``pillow_look(q)`` the
    SSIMULACRA2 of Pillow's JPEG at q for a typical photo, ``quality(q, subsampling)`` jpegli's quality of that look,
    ``settings(q, f)`` what ``quality=q`` writes a photo at, and ``subsampling(f, score)`` the cheaper subsampling for
    a target."""

    def __init__(self, record: dict) -> None:
        self.record = record
        self.mean, self.scale = (np.asarray(record["standardize"][k]) for k in ("mean", "scale"))
        self.weights = {k: np.asarray(v) for k, v in record["weights"].items()}
        self.at = {k: record["pillow_qualities" if k.startswith("pillow") else "qualities"] for k in self.weights}
        self._pillow = np.interp(np.arange(1, 101), record["pillow_qualities"], record["pillow_look"])

    def _predict(self, kind: str, f: np.ndarray | None) -> np.ndarray:
        # f None: the intercepts, which are the training photos' mean scores (features standardized over them)
        z = np.zeros(len(self.mean)) if f is None else (np.concatenate([f, f * f]) - self.mean) / self.scale
        z = np.concatenate([[1.0], z])
        return np.interp(np.arange(1, 101), self.at[kind], self.weights[kind] @ z)

    def ssimulacra2(self, f: np.ndarray | None, subsampling: str = "4:2:0") -> np.ndarray:
        """The predicted SSIMULACRA2 of jpegli's file at qualities 1..100, made monotone (it never falls); 4:2:2 gets
        4:2:0's curve (the nearer, and the lower)."""
        return np.maximum.accumulate(self._predict("ssimulacra2" + CURVES.get(subsampling, ""), f))

    def bpp(self, f: np.ndarray | None, subsampling: str = "4:2:0") -> np.ndarray:
        """The predicted bits per pixel of jpegli's progressive file at qualities 1..100 (4:2:2: 4:2:0's)."""
        return np.exp(self._predict("log_bpp" + CURVES.get(subsampling, ""), f))

    def subsampling(self, f: np.ndarray | None, score: float) -> str:
        """The subsampling of jpegli's smallest file predicted to look ``score`` (:func:`cheaper_subsampling`)."""
        return cheaper_subsampling({name: self.ssimulacra2(f, name) for name in CURVES},
                                   {name: np.log(self.bpp(f, name)) for name in CURVES}, score)  # fmt: skip

    def pillow_look(self, quality: int) -> float:
        return float(self._pillow[quality - 1])

    def quality(self, quality: int, subsampling: str = "4:2:0") -> int:
        """jpegli's quality whose mean look over the training photos is the mean look of Pillow's JPEG at
        ``quality`` (the same for every photo: a per-photo aim cost bytes and its lift of the worst photos did not
        hold on photos unlike the training sets; BENCHMARKS.md, "The look predictor out of its training set")."""
        return nearest_quality(self.ssimulacra2(None, subsampling), self.pillow_look(quality))

    def settings(self, quality: int, f: np.ndarray | None, subsampling: str | None = None) -> tuple[int, str]:
        """(jpegli quality, subsampling) that ``quality=q`` writes a photo of features ``f`` at: ``subsampling`` or,
        when None, 4:2:0 unless the photo's predicted 4:2:0 curve cannot reach Pillow's mean look at ``quality``
        (then 4:4:4: predicted bytes err by 5–8 %, too much to choose by on an open loop; BENCHMARKS.md,
        "Per-photo subsampling"); the quality is :meth:`quality`'s."""
        if subsampling is None:
            subsampling = "4:2:0" if self.ssimulacra2(f, "4:2:0")[-1] >= self.pillow_look(quality) else "4:4:4"
        return self.quality(quality, subsampling), subsampling


def cheaper_subsampling(scores: dict[str, np.ndarray], log_bpp: dict[str, np.ndarray], score: float) -> str:
    """4:4:4 where 4:2:0's predicted curve (``scores``, rising with quality) stays below ``score`` (by
    :data:`REACH`) or 4:4:4's predicted bytes at that look are fewer; else 4:2:0. The curves and log bits per pixel
    of each subsampling of :data:`CURVES`, at the same qualities. Target mode's choice: its search measures what it
    chose, and searches 4:4:4 when 4:2:0 falls short."""
    if scores["4:2:0"][-1] < score + REACH:
        return "4:4:4"
    cost = {name: np.interp(score, scores[name], log_bpp[name]) for name in CURVES}
    return "4:4:4" if cost["4:4:4"] < cost["4:2:0"] else "4:2:0"


@functools.cache
def look() -> Look:
    """The shipped predictor."""
    return Look(weights.read_json("look.json"))

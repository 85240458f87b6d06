"""How a decoded image scores against its original, in numpy (no torch): SSIMULACRA2 and PSNR, what targets and the
look-calibrated default measure with.

:class:`SSIMULACRA2` is libjxl's ``tools/ssimulacra2.cc`` (version 2.1, April 2023), the computation of the torch
port :mod:`rdjpeg.learned.metrics.ssimulacra2` (which trains; this one measures), in float32 numpy on one thread:

1. sRGB → linear RGB → XYB (libjxl's opsin absorbance, cube root), rescaled to about 0..1 with B − Y;
2. at 6 scales (1:1 … 1:32, each downsampled 2×2 in *linear* RGB), for each of X, Y, B: an SSIM map without the
   luminance denominator, an "artifact" map (edges in the distorted image where the original is smooth) and a
   "detail lost" map (blur), each reduced by its 1-norm and 4-norm;
3. a weighted sum of those 108 numbers, mapped by a fixed polynomial and power to a score: 100 for identical
   images, about 90 visually lossless, 70 high, 50 medium, 30 low quality.

The blur is libjxl's recursive Gaussian (σ = 1.5, Charalampidis 2016), which is exactly a 9-tap FIR filter with zeros
outside the image. The original's half of the work (its XYB, blurred mean and variance at every scale) is done once,
when the :class:`SSIMULACRA2` is made, and kept for every decoded candidate scored against it (up to
:data:`KEEP_ORIGINAL_PIXELS`; larger originals are recomputed per score, in bounded memory). Agreement with libjxl's
own binary and with the torch port, and the speed, are in BENCHMARKS.md ("SSIMULACRA2 in numpy").
"""

from __future__ import annotations

import math

import numpy as np

NUM_SCALES = 6
MIN_SIDE = 8  # libjxl computes a scale while the previous one is at least this many pixels on each side
KEEP_ORIGINAL_PIXELS = 4_000_000  # above, the original's planes are recomputed for each score (memory, not speed)
_C2 = 0.0009
# libjxl's opsin absorbance matrix and bias (lib/jxl/cms/opsin_params.h).
OPSIN = (
    (0.30, 1 - 0.30 - 0.078, 0.078),
    (0.23, 1 - 0.23 - 0.078, 0.078),
    (0.24342268924547819, 0.20476744424496821, 1 - 0.24342268924547819 - 0.20476744424496821),
)
OPSIN_BIAS = 0.0037930732552754493
# The 108 weights of Msssim::Score(), in the order channel (X, Y, B) → scale → norm (1, 4) → map (SSIM, artifact,
# detail lost).
WEIGHTS = (
    0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0, 0.0004371155730107379, 0.0,
    1.1041726426657346, 0.00066284834129271, 0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0,
    1.8422455520539298, 11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653, 0.0,
    1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072, 0.9677937080626833, 0.0,
    0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053, 0.0004550992113792063, 0.0, 0.0,
    0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262,
    0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
    225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
    176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408, 0.0, 0.0, 0.0,
    34.77906344483772, 44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0008680556573291698, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0004179171803251336, 0.0017290828234722833, 0.0, 0.0020827005846636437, 0.0, 0.0, 8.826982764996862,
    23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682, 0.9834382792465353, 0.0012286405048278493,
    171.2667255897307, 0.9807858872435379, 0.0, 0.0, 0.0, 0.0005130064588990679, 0.0, 0.00010854057858411537,
)  # fmt: skip


# libjxl's final mapping of the weighted sum w of the 108 norms: s = w·scale, s = a·s + b·s² + c·s³, 100 − 10·s^power.
MAPPING = {"scale": 0.9562382616834844, "a": 2.326765642916932, "b": -0.020884521182843837, "c": 6.248496625763138e-05,
           "power": 0.6276336467831387}  # fmt: skip


def map_to_score(weighted: float) -> float:
    """The score of the weighted sum of the 108 norms (:data:`MAPPING`; 100: identical)."""
    s = weighted * MAPPING["scale"]
    s = MAPPING["a"] * s + MAPPING["b"] * s * s + MAPPING["c"] * s * s * s
    return 100.0 - 10.0 * s ** MAPPING["power"] if s > 0 else 100.0


def recursive_gaussian_taps(sigma: float = 1.5) -> np.ndarray:
    """The impulse response of libjxl's ``CreateRecursiveGaussian(sigma)``: taps for j = -N..N (the outer two are 0).

    Its equations (33)–(57) solve for three weights βₖ of cosines at ωₖ = kπ/2N, k = 1, 3, 5.
    """
    radius = round(3.2795 * sigma + 0.2546)
    omega = np.array([math.pi / (2 * radius) * k for k in (1, 3, 5)])
    p = np.array([1, -1, 1]) / np.tan(0.5 * omega)
    r = np.array([1, -1, 1]) * p * p / np.sin(omega)
    rho = np.exp(-0.5 * sigma * sigma * omega * omega) / radius
    d13, d35, d51 = p[0] * r[1] - r[0] * p[1], p[1] * r[2] - r[1] * p[2], p[2] * r[0] - r[2] * p[0]
    zeta15, zeta35 = d35 / d13, d51 / d13
    a = np.array([p, r, [zeta15, zeta35, 1.0]])
    gamma = np.array([1.0, radius * radius - sigma * sigma, zeta15 * rho[0] + zeta35 * rho[1] + rho[2]])
    beta = np.linalg.solve(a, gamma)
    j = np.arange(-radius, radius + 1)
    return (beta[:, None] * np.cos(omega[:, None] * j)).sum(0)


_TAPS = recursive_gaussian_taps()[1:-1].astype(np.float32)  # the 9 nonzero taps
_RADIUS = len(_TAPS) // 2
_LINEAR = np.arange(256) / 255
_LINEAR = np.where(_LINEAR <= 0.04045, _LINEAR / 12.92, ((_LINEAR + 0.055) / 1.055) ** 2.4).astype(np.float32)
_OPSIN32 = np.asarray(OPSIN, np.float32)
_CUBE_BIAS = np.float32(np.cbrt(OPSIN_BIAS))


class _Blur:
    """libjxl's blur of one (H, W) plane at a time, zeros outside, in buffers reused for every plane of a size."""

    def __init__(self, height: int, width: int) -> None:
        r = _RADIUS
        self.rows = np.zeros((height + 2 * r, width), np.float32)  # the plane, zero rows above and below
        self.cols = np.zeros((height, width + 2 * r), np.float32)  # after the vertical pass, zero columns beside
        self.term = np.empty((height, width), np.float32)

    def __call__(self, plane: np.ndarray) -> np.ndarray:
        r, (h, w), term = _RADIUS, plane.shape, self.term
        self.rows[r : r + h] = plane
        vertical = self.cols[:, r : r + w]
        np.multiply(self.rows[r : r + h], _TAPS[r], out=vertical)
        for k in range(1, r + 1):  # the taps are symmetric: one product per pair
            np.add(self.rows[r - k : r - k + h], self.rows[r + k : r + k + h], out=term)
            term *= _TAPS[r + k]
            vertical += term
        out = self.cols[:, r : r + w] * _TAPS[r]
        for k in range(1, r + 1):
            np.add(self.cols[:, r - k : r - k + w], self.cols[:, r + k : r + k + w], out=term)
            term *= _TAPS[r + k]
            out += term
        return out


def _linear(pixels: np.ndarray) -> np.ndarray:
    """uint8 sRGB (H, W) or (H, W, 3) → (3, H, W) linear float32 (a gray image's one channel thrice)."""
    lin = _LINEAR[pixels]
    return np.repeat(lin[None], 3, 0) if lin.ndim == 2 else np.ascontiguousarray(lin.transpose(2, 0, 1))


def _downsample(lin: np.ndarray) -> np.ndarray:
    """2×2 box average; an odd last row/column is averaged with itself (libjxl clamps the coordinates)."""
    _, h, w = lin.shape
    if h % 2 or w % 2:
        lin = np.pad(lin, ((0, 0), (0, h % 2), (0, w % 2)), mode="edge")
    return 0.25 * (lin[:, 0::2, 0::2] + lin[:, 1::2, 0::2] + lin[:, 0::2, 1::2] + lin[:, 1::2, 1::2])


def _xyb(lin: np.ndarray) -> np.ndarray:
    """Linear RGB (3, H, W) → libjxl's XYB made positive (``MakePositiveXYB``), float32."""
    mixed = np.tensordot(_OPSIN32, lin, 1)
    mixed += np.float32(OPSIN_BIAS)
    np.maximum(mixed, np.float32(1e-6), out=mixed)
    np.cbrt(mixed, out=mixed)
    mixed -= _CUBE_BIAS
    y = (mixed[0] + mixed[1]) * np.float32(0.5)
    out = np.empty_like(mixed)
    np.subtract(mixed[0], mixed[1], out=out[0])
    out[0] *= np.float32(7.0)  # 14 · ½(m0 − m1)
    out[0] += np.float32(0.42)
    np.add(y, np.float32(0.01), out=out[1])
    np.subtract(mixed[2], y, out=out[2])
    out[2] += np.float32(0.55)
    return out


def _norms(m: np.ndarray) -> tuple[float, float]:
    """(1-norm, 4-norm) of a map: its mean, and the fourth root of the mean of its fourth power."""
    fourth = m * m
    fourth *= fourth
    return float(m.mean(dtype=np.float64)), float(fourth.mean(dtype=np.float64)) ** 0.25


class SSIMULACRA2:
    """SSIMULACRA2 scores of decoded images against one original: ``SSIMULACRA2(original)(decoded)``.

    Both are uint8 sRGB pixels of one shape, (H, W, 3) or (H, W) gray, at least 8×8 (checked here: smaller images
    have no score).

    Example:
        >>> original = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
        >>> score = SSIMULACRA2(original)
        >>> score(original)
        100.0
        >>> bool(score(original // 2 * 2) < 100)
        True
    """

    def __init__(self, original: np.ndarray) -> None:
        if min(original.shape[:2]) < MIN_SIDE:
            raise ValueError(f"SSIMULACRA2 needs images of at least {MIN_SIDE}×{MIN_SIDE} pixels, got "
                             f"{original.shape[1]}×{original.shape[0]}")  # fmt: skip
        self.original, self.shape = original, original.shape
        keep = original.shape[0] * original.shape[1] <= KEEP_ORIGINAL_PIXELS
        self._kept = self._original_planes() if keep else None

    def _original_planes(self) -> list[tuple]:
        """Per scale: (its linear RGB's XYB, the blurred mean, the variance, 1 + |x − mean|) of the original."""
        planes, lin = [], _linear(self.original)
        for scale in range(NUM_SCALES):
            if min(lin.shape[1:]) < MIN_SIDE:
                break
            if scale:
                lin = _downsample(lin)
            xyb, blur = _xyb(lin), _Blur(*lin.shape[1:])
            mean = np.stack([blur(c) for c in xyb])
            variance = np.stack([blur(c * c) for c in xyb]) - mean * mean
            planes.append((xyb, mean, variance, 1.0 + np.abs(xyb - mean)))
        return planes

    def __call__(self, decoded: np.ndarray) -> float:
        if decoded.shape != self.shape:
            raise ValueError(f"SSIMULACRA2 compares images of one shape, got {self.shape} and {decoded.shape}")
        lin, norms = _linear(decoded), []
        for scale, (x1, mu1, var1, d1) in enumerate(self._kept or self._original_planes()):
            if scale:
                lin = _downsample(lin)
            x2, blur = _xyb(lin), _Blur(*lin.shape[1:])
            for c in range(3):  # one plane at a time: the working set stays in cache
                a, b = x1[c], x2[c]
                mu2 = blur(b)
                cross = blur(a * b) - mu1[c] * mu2
                var2 = blur(b * b) - mu2 * mu2
                mean_diff = mu1[c] - mu2
                # (var1 + var2) + C2 rounds as 2·cross + C2 does for identical images: exactly 0 there
                c2 = np.float32(_C2)
                ssim = 1.0 - (1.0 - mean_diff * mean_diff) * (2 * cross + c2) / (var1[c] + var2 + c2)
                ratio = (1.0 + np.abs(b - mu2)) / d1[c] - 1.0
                norms.append([_norms(np.maximum(m, 0, out=m)) for m in (ssim, ratio, -ratio)])
        # (scales, channel, map, norm) → channel, scale, norm, map: the order of libjxl's weights
        flat = np.asarray(norms).reshape(-1, 3, 3, 2).transpose(1, 0, 3, 2).reshape(-1)
        return map_to_score(float(np.abs(flat) @ np.asarray(WEIGHTS[: flat.size])))


PSNR_OF_IDENTICAL = 100.0  # dB: finite, so that it works as a target and in BD-rates


def psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB of 8-bit images (:data:`PSNR_OF_IDENTICAL` for identical ones)."""
    mse = float(np.mean(np.square(original.astype(np.float32) - decoded, dtype=np.float32), dtype=np.float64))
    return PSNR_OF_IDENTICAL if mse == 0 else min(PSNR_OF_IDENTICAL, 10 * math.log10(255**2 / mse))

"""How a decoded image scores against its original, in numpy (no torch): SSIMULACRA2 and PSNR, what targets and the
look-calibrated default measure with.

:class:`SSIMULACRA2` is libjxl's ``tools/ssimulacra2.cc`` (version 2.1, April 2023), the computation of the torch
port :mod:`rdjpeg.learned.metrics.ssimulacra2` (which trains; this one measures), in numpy:

1. sRGB → linear RGB → XYB (libjxl's opsin absorbance, cube root), rescaled to about 0..1 with B − Y;
2. at 6 scales (1:1 … 1:32, each downsampled 2×2 in *linear* RGB), for each of X, Y, B: an SSIM map without the
   luminance denominator, an "artifact" map (edges in the distorted image where the original is smooth) and a
   "detail lost" map (blur), each reduced by its 1-norm and 4-norm;
3. a weighted sum of those 108 numbers, mapped by a fixed polynomial and power to a score: 100 for identical
   images, about 90 visually lossless, 70 high, 50 medium, 30 low quality.

The blur is libjxl's recursive Gaussian (σ = 1.5, Charalampidis 2016), which is exactly a 9-tap FIR filter with zeros
outside the image. So each scale is scored in bands of rows, each with the 4 rows around it that its blurs read, on
every core this process may use (:func:`scoring_threads`; numpy and the BLAS products of the blur release the GIL),
and what the score needs of every map, its sum and sum of fourth powers, adds up exactly over the bands. Memory stays
a band's planes per thread beside the two images and their half-size linear RGB: at 24 megapixels 290 MB over the
pixels (2 threads). Maps whose weights are 0 (X and B at 1:1 need only the "artifact" map) are skipped. Float32 up
to 1:2, float64 from 1:4, whose SSIM maps weigh most: within 0.003 of the same computation in float64 on Kodak
(BENCHMARKS.md, "Targets at camera scale"). Agreement with libjxl's own binary and with the torch port are in
BENCHMARKS.md ("SSIMULACRA2 in numpy").
"""

from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

NUM_SCALES = 6
MIN_SIDE = 8  # libjxl computes a scale while the previous one is at least this many pixels on each side
BAND_PIXELS = 1 << 19  # a band's pixels: its planes (2 MB each) are reused from cache, whatever the image's size
FLOAT64_FROM = 2  # the blurs and maps of this scale on are in float64
MAX_BAND_ROWS = 256  # the horizontal pass's products (rows × 24 × 16) stay under OpenBLAS's threading threshold
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
_BLOCK = 16  # rows (columns) of one matrix product of the blur: 16 outputs from 24 inputs (fastest of 8..32)
_COLUMNS = 512  # the width of one product of the vertical pass (16 × 24 × 512: under OpenBLAS's threading threshold)
# The blur of _BLOCK rows (columns) from the _BLOCK + 2·_RADIUS around them: a banded matrix of the taps.
_BANDED = np.zeros((_BLOCK, _BLOCK + 2 * _RADIUS), np.float32)
for _i in range(_BLOCK):
    _BANDED[_i, _i : _i + 2 * _RADIUS + 1] = _TAPS
_LINEAR = np.arange(256) / 255
_LINEAR = np.where(_LINEAR <= 0.04045, _LINEAR / 12.92, ((_LINEAR + 0.055) / 1.055) ** 2.4).astype(np.float32)
_OPSIN32 = np.asarray(OPSIN, np.float32)
_CUBE_BIAS = np.float32(np.cbrt(OPSIN_BIAS))


def scoring_threads() -> int:
    """The threads one scoring uses: the CPUs this process may run on, at most ``OMP_NUM_THREADS`` when set."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    limit = os.environ.get("OMP_NUM_THREADS", "").strip()
    return max(1, min(usable, int(limit))) if limit.isdigit() else usable


@functools.cache
def _shared_pool() -> ThreadPoolExecutor:
    """The threads that every scoring in this process shares (:func:`scoring_threads` of them, counted at first use):
    scorings at once (``rdjpeg compress --jobs``) take turns on them instead of each using every core."""
    return ThreadPoolExecutor(scoring_threads(), thread_name_prefix="rdjpeg-scores")


def _weights(scales: int) -> np.ndarray:
    """The weights of an image with this many scales, (scale, channel, map, norm): libjxl numbers them over the scales
    computed, so a small image's Y and B take weights that 6 scales give X and Y."""
    return np.asarray(WEIGHTS[: 3 * scales * 6]).reshape(3, scales, 2, 3).transpose(1, 0, 3, 2)


def scale_shapes(height: int, width: int) -> list[tuple[int, int]]:
    """(height, width) of every scale computed: halved (rounding up) while the previous scale is at least
    :data:`MIN_SIDE` on each side, :data:`NUM_SCALES` at most."""
    shapes = [(height, width)]
    while len(shapes) < NUM_SCALES and min(shapes[-1]) >= MIN_SIDE:
        shapes.append(((shapes[-1][0] + 1) // 2, (shapes[-1][1] + 1) // 2))
    return shapes


class _Blur:
    """libjxl's blur of a stack of ``k`` planes of one band (``rows`` × ``width``, zeros outside the image), as matrix
    products with :data:`_BANDED` (BLAS: several times the speed of shifted adds). The caller writes each plane into
    :attr:`planes` with :data:`_RADIUS` rows of context above and below (zeros beyond the image).

    Each product is small (:data:`_COLUMNS` wide, at most :data:`MAX_BAND_ROWS` tall): OpenBLAS runs those on the
    calling thread, so the bands' threads are the only ones (larger ones wake its own threads, which then compete
    with the bands' for the same cores)."""

    def __init__(self, k: int, rows: int, width: int, dtype=np.float32) -> None:
        r, b, n = _RADIUS, _BLOCK, _COLUMNS
        blocks, padded = -(-rows // b), -(-width // n) * n
        # Rows and columns past the band stay zero: they feed only outputs that are never read, and must be finite.
        planes = np.zeros((k, blocks * b + 2 * r, padded), dtype)
        self.vertical = np.zeros((k, blocks * b, padded + 2 * r), dtype)  # zero columns beside
        self.out = np.empty((k, blocks * b, padded), dtype)
        self.banded = _BANDED.astype(dtype)
        strided = np.lib.stride_tricks.as_strided
        (p0, p1, p2), (v0, v1, v2), (o0, o1, o2) = planes.strides, self.vertical.strides, self.out.strides
        shape = (k, blocks, padded // n)
        self._windows = strided(planes, (*shape, b + 2 * r, n), (p0, b * p1, n * p2, p1, p2))
        self._into = strided(self.vertical[:, :, r:], (*shape, b, n), (v0, b * v1, n * v2, v1, v2))
        shape = (k, padded // b, blocks * b)
        self._row_windows = strided(self.vertical, (*shape, b + 2 * r), (v0, b * v2, v1, v2))
        self._row_into = strided(self.out, (*shape, b), (o0, b * o2, o1, o2))
        self.planes, self.rows, self.width = planes[:, :, :width], rows, width

    def __call__(self, k: int) -> np.ndarray:
        """The first ``k`` planes blurred, (k, rows, width) (a view of buffers that the next call overwrites)."""
        np.matmul(self.banded, self._windows[:k], out=self._into[:k])
        np.matmul(self._row_windows[:k], self.banded.T, out=self._row_into[:k])
        return self.out[:k, : self.rows, : self.width]


def _linear(pixels: np.ndarray) -> np.ndarray:
    """uint8 sRGB (H, W) or (H, W, 3) → (3, H, W) linear float32 (a gray image's one channel thrice)."""
    if pixels.ndim == 2:
        return np.repeat(_LINEAR[pixels][None], 3, 0)
    out = np.empty((3, *pixels.shape[:2]), np.float32)
    for c in range(3):  # one gather per channel writes planes: no transposed copy
        np.take(_LINEAR, pixels[..., c], out=out[c])
    return out


def _downsample(lin: np.ndarray) -> np.ndarray:
    """2×2 box average; an odd last row/column is averaged with itself (libjxl clamps the coordinates)."""
    _, h, w = lin.shape
    if h % 2 or w % 2:
        lin = np.pad(lin, ((0, 0), (0, h % 2), (0, w % 2)), mode="edge")
    out = lin[:, 0::2, 0::2] + lin[:, 1::2, 0::2]
    out += lin[:, 0::2, 1::2]
    out += lin[:, 1::2, 1::2]
    out *= np.float32(0.25)
    return out


def _xyb(lin: np.ndarray) -> np.ndarray:
    """Linear RGB (3, H, W) → libjxl's XYB made positive (``MakePositiveXYB``), float32."""
    mixed = np.empty((3, *lin.shape[1:]), np.float32)
    for i, (r, g, b) in enumerate(_OPSIN32):  # multiply-adds: a 3×3 matrix product is slow in BLAS
        np.multiply(lin[0], r, out=mixed[i])
        mixed[i] += g * lin[1]
        mixed[i] += b * lin[2]
    mixed += np.float32(OPSIN_BIAS)
    np.maximum(mixed, np.float32(1e-6), out=mixed)
    # The cube root as exp(log(x) / 3): numpy's float32 exp and log are vectorized, its cbrt is not (6× the time);
    # within 5e-7 of it, relative.
    np.log(mixed, out=mixed)
    mixed *= np.float32(1 / 3)
    np.exp(mixed, out=mixed)
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


def _sums(m: np.ndarray, used: np.ndarray) -> tuple[float, float]:
    """(Σm, Σm⁴) of a map (overwritten), for its 1-norm and 4-norm over the whole scale; 0 for a norm not ``used``."""
    total = float(m.sum()) if used[0] else 0.0
    if not used[1]:
        return total, 0.0
    m *= m
    m *= m
    return total, float(m.sum())


class SSIMULACRA2:
    """SSIMULACRA2 scores of decoded images against one original: ``SSIMULACRA2(original)(decoded)``.

    Both are uint8 sRGB pixels of one shape, (H, W, 3) or (H, W) gray, at least 8×8 (checked here: smaller images
    have no score). ``threads``: how many tasks share out a scale's bands (default :func:`scoring_threads`), run on
    threads that every scoring in the process shares (as many as :func:`scoring_threads` at the first scoring).

    Example:
        >>> original = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
        >>> score = SSIMULACRA2(original)
        >>> score(original)
        100.0
        >>> bool(score(original // 2 * 2) < 100)
        True
    """

    def __init__(self, original: np.ndarray, threads: int | None = None) -> None:
        if min(original.shape[:2]) < MIN_SIDE:
            raise ValueError(f"SSIMULACRA2 needs images of at least {MIN_SIDE}×{MIN_SIDE} pixels, got "
                             f"{original.shape[1]}×{original.shape[0]}")  # fmt: skip
        self.original, self.shape = original, original.shape
        self.threads = scoring_threads() if threads is None else max(1, threads)

    def __call__(self, decoded: np.ndarray) -> float:
        if decoded.shape != self.shape:
            raise ValueError(f"SSIMULACRA2 compares images of one shape, got {self.shape} and {decoded.shape}")
        shapes = scale_shapes(*self.shape[:2])
        weights = _weights(len(shapes))
        sums = np.zeros((len(shapes), 3, 3, 2))  # scale, channel, map (SSIM, artifact, detail lost), Σm and Σm⁴
        images = (self.original, decoded)  # scale 0: the uint8 pixels, converted band by band
        for scale, (height, width) in enumerate(shapes):
            following = np.empty((2, 3, *shapes[scale + 1]), np.float32) if scale + 1 < len(shapes) else None
            groups = _groups(height, width, self.threads)
            n = len(groups)
            # libjxl weighs some maps 0: skipping them is exact (at 1:1, half the blurs)
            used = weights[scale] != 0
            dtype = np.float64 if scale >= FLOAT64_FROM else np.float32
            run = _shared_pool().map if n > 1 else map
            for group in run(_score_bands, [images] * n, [used] * n, groups, [following] * n, [dtype] * n):
                sums[scale] += group
            images = following
        means = sums / np.asarray([h * w for h, w in shapes], np.float64)[:, None, None, None]
        norms = np.stack([means[..., 0], means[..., 1] ** 0.25], -1)
        return map_to_score(float((np.abs(norms) * weights).sum()))


def _groups(height: int, width: int, threads: int) -> list[list[tuple[int, int]]]:
    """A scale's bands of rows, in at most ``threads`` groups of neighbours (one task each): bands of about
    :data:`BAND_PIXELS` (their starts even: a band downsamples alone), as many as the threads at least when the scale
    is worth sharing."""
    rows = min(MAX_BAND_ROWS, max(_BLOCK, BAND_PIXELS // width // _BLOCK * _BLOCK))
    if height * width > BAND_PIXELS // 4:
        rows = min(rows, -(-height // (threads * _BLOCK)) * _BLOCK)
    bands = [(y, min(height, y + rows)) for y in range(0, height, rows)]
    size = -(-len(bands) // threads)
    return [bands[i : i + size] for i in range(0, len(bands), size)]


def _score_bands(images: tuple, used: np.ndarray, bands: list[tuple[int, int]], following: np.ndarray | None,
                 dtype) -> np.ndarray:  # fmt: skip
    """Σm and Σm⁴ of every map over ``bands`` of one scale, (channel, map, 2), where ``used`` (same shape) says (else
    0); ``images``: the original and the decoded image at this scale (uint8 pixels (H, W[, 3]) at 1:1, else linear RGB
    planes (3, H, W)); their next scale's rows go into ``following``."""
    r, sums, blurs = _RADIUS, np.zeros((3, 3, 2)), {}
    first = images[0].dtype == np.uint8
    height = images[0].shape[0] if first else images[0].shape[1]
    for y0, y1 in bands:
        top, bottom = max(0, y0 - r), min(height, y1 + r)  # the band with the blur's context, inside the image
        lin = [_linear(image[top:bottom]) if first else image[:, top:bottom] for image in images]
        if following is not None:
            for k in range(2):
                following[k, :, y0 // 2 : (y1 + 1) // 2] = _downsample(lin[k][:, y0 - top : y1 - top])
        x1, x2 = _xyb(lin[0]), _xyb(lin[1])
        rows = y1 - y0
        blur = blurs.get(rows) or blurs.setdefault(rows, _Blur(4, rows, x1.shape[2], dtype))
        above = r - (y0 - top)  # rows of zeros above the image's first row
        inside = slice(above, above + bottom - top)
        planes = blur.planes
        planes[:, :above] = 0
        planes[:, inside.stop : rows + 2 * r] = 0
        band = slice(y0 - top, y1 - top)
        for c, norms in enumerate(used):
            if not norms.any():
                continue
            a, b = x1[c], x2[c]
            planes[0, inside], planes[1, inside] = a, b
            if norms[0].any():  # SSIM: the blurred squares and cross product too
                np.multiply(a, a, out=planes[2, inside])
                planes[2, inside] += b * b  # the blur is linear: one blur of the sum gives var1 + var2
                np.multiply(a, b, out=planes[3, inside])
                mu1, mu2, squares, cross = blur(4)
                sums[c, 0] += _sums(_ssim(mu1, mu2, squares, cross), norms[0])
            else:
                mu1, mu2 = blur(2)
            if norms[1:].any():
                ratio = np.abs(b[band] - mu2)
                ratio += 1.0
                ratio /= 1.0 + np.abs(a[band] - mu1)
                ratio -= 1.0
                lost = np.negative(ratio) if norms[2].any() else None
                sums[c, 1] += _sums(np.maximum(ratio, 0, out=ratio), norms[1])
                if lost is not None:
                    sums[c, 2] += _sums(np.maximum(lost, 0, out=lost), norms[2])
    return sums


def _ssim(mu1: np.ndarray, mu2: np.ndarray, squares: np.ndarray, cross: np.ndarray) -> np.ndarray:
    """The SSIM map without the luminance denominator, clamped at 0, from the blurred x1, x2, x1² + x2² and x1·x2."""
    c2 = np.float32(_C2)
    # var1 + var2 + C2 rounds as 2·cross + C2 does for identical images (doubling is exact): SSIM 0 there
    var = mu1 * mu1
    var += mu2 * mu2
    np.subtract(squares, var, out=var)
    var += c2
    covariance = mu1 * mu2
    np.subtract(cross, covariance, out=covariance)
    covariance *= 2
    covariance += c2
    ssim = mu1 - mu2
    ssim *= ssim
    np.subtract(1.0, ssim, out=ssim)
    ssim *= covariance
    ssim /= var
    np.subtract(1.0, ssim, out=ssim)
    return np.maximum(ssim, 0, out=ssim)


PSNR_OF_IDENTICAL = 100.0  # dB: finite, so that it works as a target and in BD-rates


def psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB of 8-bit images (:data:`PSNR_OF_IDENTICAL` for identical ones)."""
    mse = float(np.mean(np.square(original.astype(np.float32) - decoded, dtype=np.float32), dtype=np.float64))
    return PSNR_OF_IDENTICAL if mse == 0 else min(PSNR_OF_IDENTICAL, 10 * math.log10(255**2 / mse))

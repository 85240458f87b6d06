"""λ(x): how many units of distortion one bit per pixel is worth for this image at this quality.

The training loss is ``D(x, JPEG(P(x))) + λ(x)·R̂(P(x))``, with D in the metric's loss units (MSE of [0, 1] images,
1 − MS-SSIM, LPIPS) and R̂ in bits per pixel. λ is the slope −dD/dR of the image's own real RD curve at the requested
quality. At that slope the unedited image at quality q is already the best point of its curve. A prefilter
therefore gains only by moving the curve itself, with fewer bits at equal distortion. It cannot gain by sliding
along the curve, for instance blurring the image into what a lower quality would give. So the operating point stays
at the requested quality.

:func:`estimate_lambda` measures the slope with real encodes (Pillow, or the encoder that will write the file) at
q−10, q−5, q, q+5 and q+10, clamped to 1..100. It fits the log-log line log D = a + e·log R through them (the
smoothing) and returns λ = −e·D(q)/R(q).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ...images import Encoder, roundtrip, tensor_to_pixels
from ...jpeg.backends import pillow_jpeg_bytes
from ...jpeg.tables import PILLOW_SUBSAMPLING
from ...registry import get_metric, loss_name
from ...validate import check_int, subsampling_name
from ..checks import check_image, quality_tensor, tables_tensor
from ..simulator import simulate
from .rate import estimate_bits


def real_rd_points(
    x: Tensor,
    qualities: list[int],
    metric: str,
    subsampling: str = "4:2:0",
    optimize: bool = False,
    encode: Encoder | None = None,
):
    """(bpp, distortion in loss units) of the real files of one (C, H, W) image at each quality: Pillow's, or
    ``encode(pixels, quality)``'s (then ``subsampling`` and ``optimize`` are its business)."""
    m = get_metric(metric)
    pixels = tensor_to_pixels(x[None])
    if encode is None:
        image = Image.fromarray(pixels)
        options = {} if pixels.ndim == 2 else {"subsampling": PILLOW_SUBSAMPLING[subsampling]}

        def encode(_, q: int) -> bytes:
            return pillow_jpeg_bytes(image, quality=q, optimize=optimize, **options)

    bpp, decoded = [], []
    for q in qualities:
        _, y, rate = roundtrip(encode, pixels, int(q))
        bpp.append(rate)
        decoded.append(y)
    reference = x.detach().float().cpu().expand(len(qualities), -1, -1, -1)
    with torch.inference_mode():
        distortion = m.loss(reference, torch.cat(decoded)).double().numpy()
    return np.asarray(bpp), distortion


def estimate_lambda(
    x: Tensor,
    quality: int | float | Tensor = 75,
    metric: str = "mse",
    subsampling: str | int = "4:2:0",
    optimize: bool = False,
    step: int = 5,
    encode: Encoder | None = None,
) -> Tensor:
    """Slope −dD/dR of each image's real JPEG RD curve at its quality, in the metric's loss units per bpp.

    Args:
        x: (B, 3|1, H, W) images in [0, 1].
        quality: 1..100, scalar or per image.
        metric: "mse" (or "psnr"), "msssim", "lpips", or any registered metric (its loss form is used).
        subsampling: as for the encoder.
        optimize: measure rates with optimized Huffman tables.
        step: quality spacing of the five real encodes.
        encode: ``encode(pixels, quality) -> bytes``, the encoder whose curve it is (default: Pillow with
            ``subsampling`` and ``optimize``). Another encoder's tables give another curve: mozjpeg's flat table
            spends far more bits at the same quality.

    Returns:
        (B,) λ ≥ 0 (float64 on the input's device).

    Example:
        >>> estimate_lambda(torch.rand(1, 3, 32, 32), quality=50, metric="mse").shape
        torch.Size([1])
    """
    check_image(x)
    q = quality_tensor(quality, x.shape[0], "cpu")
    get_metric(metric)  # unknown metric → UnknownNameError before any work
    check_int("step", step, 1)
    return measure_lambda(x, q, metric, subsampling_name(subsampling), optimize, step, encode)


def measure_lambda(x: Tensor, quality: Tensor, metric: str, subsampling: str = "4:2:0", optimize: bool = False,
                   step: int = 5, encode: Encoder | None = None) -> Tensor:  # fmt: skip
    """:func:`estimate_lambda` for checked inputs (``quality`` (B,) int64, ``subsampling`` a name)."""
    lambdas = []
    for image, qi in zip(x, quality.tolist(), strict=True):
        qualities = sorted({min(100, max(1, qi + k * step)) for k in (-2, -1, 0, 1, 2)})
        bpp, d = real_rd_points(image, qualities, metric, subsampling, optimize, encode)
        at = qualities.index(qi)
        ok = (bpp > 0) & (d > 0)
        if ok.sum() < 2 or d[at] <= 0:
            lambdas.append(0.0)  # lossless-looking image: distortion cannot be traded for rate
            continue
        elasticity = np.polyfit(np.log(bpp[ok]), np.log(d[ok]), 1)[0]
        lambdas.append(max(0.0, -elasticity * d[at] / bpp[at]))
    return torch.tensor(lambdas, dtype=torch.float64, device=x.device)


def lambda_features(
    x: Tensor,
    quality: Tensor | None,
    metric: str = "mse",
    subsampling: str = "4:2:0",
    tables: Tensor | None = None,
) -> Tensor:
    """(B, 2): the metric's loss D(q) of the real (= simulated) decode and the rate network's bpp R(q), with the
    IJG tables at ``quality`` ((B,) int64) or the encoder's own ``tables`` ((B, 2, 8, 8) int64)."""
    m = get_metric(metric)
    sim = simulate(x, quality, subsampling, tables=tables)
    d = m.loss(x, sim.decoded).double().clamp_min(1e-12)
    r = estimate_bits(sim).double() / (x.shape[-1] * x.shape[-2])
    return torch.stack([d, r], 1)


# log λ = a + b·log D(q) + c·log R(q), fitted on 160 training crops (128²–256², q 10..90) by
# benchmarks/lambda_fit.py on 2026-11-24; validation against estimate_lambda on Kodak in BENCHMARKS.md.
FAST_LAMBDA: dict[str, tuple[float, float, float]] = {
    "mse": (-0.7784, 0.8252, -0.9319),
    "msssim": (0.0229, 0.8494, -1.3382),
    "lpips": (0.2363, 0.8361, -1.1729),
}


def fast_lambda(
    x: Tensor,
    quality: int | float | Tensor,
    metric: str = "mse",
    subsampling: str = "4:2:0",
    tables: Tensor | None = None,
) -> Tensor:
    """Closed-form λ from the simulator's distortion and the rate network's bpp at ``quality``: no real encodes.
    ``tables``: the encoder's quantization tables when they are not the IJG ones (mozjpeg's flat table codes far
    more bits at the same quality, so its slope is far lower).

    Validated against :func:`estimate_lambda` on Kodak (BENCHMARKS.md); use it where five real encodes per image
    and step are too slow (LPIPS training batches).
    """
    check_image(x)
    if loss_name(metric) not in FAST_LAMBDA:
        raise ValueError(f"no fast λ fit for metric {metric!r}; fitted: {sorted(FAST_LAMBDA)}")
    q = quality_tensor(quality, x.shape[0], x.device) if tables is None else None
    tables = tables_tensor(tables, x.shape[0], x.device) if tables is not None else None
    return predict_lambda(x, q, metric, subsampling_name(subsampling), tables)


def predict_lambda(x: Tensor, quality: Tensor | None, metric: str = "mse", subsampling: str = "4:2:0",
                   tables: Tensor | None = None) -> Tensor:  # fmt: skip
    """:func:`fast_lambda` for checked inputs (as :func:`lambda_features` takes them)."""
    with torch.no_grad():
        return lambda_from_features(lambda_features(x, quality, metric, subsampling, tables), metric)


def lambda_from_features(features: Tensor, metric: str) -> Tensor:
    """λ from (B, 2) :func:`lambda_features` by the fitted closed form (:data:`FAST_LAMBDA`)."""
    a, b, c = FAST_LAMBDA[loss_name(metric)]
    d, r = features.log().unbind(1)
    return (a + b * d + c * r).exp()

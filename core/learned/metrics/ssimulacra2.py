"""SSIMULACRA2 in PyTorch: batched, differentiable, CPU or GPU.

A port of libjxl's ``tools/ssimulacra2.cc`` (Jon Sneyers, Cloudinary; the April 2023 version):

1. sRGB → linear RGB → XYB (libjxl's opsin absorbance, cube root), rescaled to about 0..1 with B − Y;
2. at 6 scales (1:1 … 1:32, each downsampled 2×2 in *linear* RGB), for each of X, Y, B:
   an SSIM map without the luminance denominator, an "artifact" map (edges in the distorted image where the
   original is smooth: ringing, blocking) and a "detail lost" map (blur), each reduced by its 1-norm and 4-norm;
3. a weighted sum of those 108 numbers, mapped by a fixed polynomial and power to a score: 100 for identical
   images, about 90 for visually lossless, 70 high, 50 medium, 30 low quality; it can go below 0.

The blur is libjxl's: its recursive Gaussian (σ = 1.5, Charalampidis 2016, ``tools/gauss_blur.cc``) is exactly a
9-tap FIR filter, Σₖ βₖ cos(ωₖ j) for |j| < 5, which is applied here as a separable convolution with zeros outside
the image, as libjxl's recursion reads them. Maps are float32 as in libjxl, the reductions float64.

As in libjxl, a scale is computed while the *previous* scale is at least 8 px on each side, and the weights are
consumed in order, so an image under 256 px uses fewer scales with the leading weights. Images smaller than 8×8
have no score and raise ``ValueError``.

As a loss, use ``1 - score / 100`` (:func:`ssimulacra2_loss`): its gradient is finite everywhere, also for identical
and flat images, where the 4-norms and the final power have no derivative (their gradient is taken as zero there).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.color import rgb_to_linear_rgb
from kornia.filters import filter2d_separable
from torch import Tensor, nn

from ...images import as_rgb
from ...scores import MAPPING, MIN_SIDE, NUM_SCALES, OPSIN, OPSIN_BIAS, WEIGHTS, recursive_gaussian_taps
from ..checks import check_images

_C2 = 0.0009


def _positive_xyb(linear: Tensor) -> Tensor:
    """Linear RGB (B, 3, H, W) → libjxl's XYB, made positive as ``MakePositiveXYB`` does."""
    opsin = linear.new_tensor(OPSIN)
    mixed = torch.einsum("ij,bjhw->bihw", opsin, linear) + OPSIN_BIAS
    # cube root; mixed ≥ bias for valid input, and the floor keeps the root's derivative finite for any input
    mixed = mixed.clamp_min(1e-6).pow(1 / 3) - OPSIN_BIAS ** (1 / 3)
    x = 0.5 * (mixed[:, 0] - mixed[:, 1])
    y = 0.5 * (mixed[:, 0] + mixed[:, 1])
    b = mixed[:, 2]
    return torch.stack([x * 14 + 0.42, y + 0.01, (b - y) + 0.55], 1)


def _downsample(linear: Tensor) -> Tensor:
    """2×2 box average; an odd last row/column is averaged with itself (libjxl clamps the coordinates)."""
    h, w = linear.shape[-2:]
    return F.avg_pool2d(F.pad(linear, (0, w % 2, 0, h % 2), mode="replicate"), 2)


_TAPS = recursive_gaussian_taps()


def _blur(x: Tensor) -> Tensor:
    taps = torch.as_tensor(_TAPS, dtype=x.dtype, device=x.device)[None]
    return filter2d_separable(x, taps, taps, border_type="constant")


def _root4_mean(d: Tensor) -> Tensor:
    """(mean d⁴)^¼ over H, W; zero (with a zero gradient) where every d is zero."""
    m = d.double().pow(4).mean((-2, -1))
    positive = m > 0
    return torch.where(positive, torch.where(positive, m, 1.0).pow(0.25), 0.0)


def _scale_features(img1: Tensor, img2: Tensor) -> Tensor:
    """(B, 3, 2, 3): per channel, per norm (1, 4), the SSIM, artifact and detail-lost averages of one scale."""
    blurred = _blur(torch.cat([img1 * img1, img2 * img2, img1 * img2, img1, img2], 1))
    s11, s22, s12, mu1, mu2 = blurred.chunk(5, 1)
    num_m = 1.0 - (mu1 - mu2).square()
    num_s = 2 * (s12 - mu1 * mu2) + _C2
    denom_s = (s11 - mu1 * mu1) + (s22 - mu2 * mu2) + _C2
    ssim = (1.0 - num_m * num_s / denom_s).clamp_min(0)
    ratio = (1.0 + (img2 - mu2).abs()) / (1.0 + (img1 - mu1).abs()) - 1.0
    maps = (ssim, ratio.clamp_min(0), (-ratio).clamp_min(0))
    norm1 = torch.stack([m.double().mean((-2, -1)) for m in maps], -1)
    norm4 = torch.stack([_root4_mean(m) for m in maps], -1)
    return torch.stack([norm1, norm4], 2)


def ssimulacra2(x: Tensor, y: Tensor) -> Tensor:
    """SSIMULACRA2 score of ``y`` (distorted) against ``x`` (reference), one per image; higher is better.

    Args:
        x: reference images in [0, 1], sRGB.
        y: distorted images, same shape.

    Returns:
        Scores, float64: 100 for identical images.

    Shape:
        - x, y: (B, C, H, W) with C = 1 or 3, H and W ≥ 8.
        - Output: (B,).

    Example:
        >>> x = torch.rand(2, 3, 64, 64)
        >>> ssimulacra2(x, x).tolist()
        [100.0, 100.0]
        >>> bool(ssimulacra2(x, (x + 0.05 * torch.randn_like(x)).clamp(0, 1))[0] < 100)
        True
    """
    check_images(x, y, MIN_SIDE, "ssimulacra2")
    return _score(x, y)


def _score(x: Tensor, y: Tensor) -> Tensor:
    lin1, lin2 = rgb_to_linear_rgb(as_rgb(x).float()), rgb_to_linear_rgb(as_rgb(y).float())
    features = []
    for scale in range(NUM_SCALES):
        if min(lin1.shape[-2:]) < MIN_SIDE:  # libjxl tests the previous scale's size, before downsampling
            break
        if scale:
            lin1, lin2 = _downsample(lin1), _downsample(lin2)
        features.append(_scale_features(_positive_xyb(lin1), _positive_xyb(lin2)))
    # (B, scales, 3, 2, 3) → channel, scale, norm, map: the order of libjxl's weights
    flat = torch.stack(features, 1).transpose(1, 2).flatten(1)
    weights = flat.new_tensor(WEIGHTS[: flat.shape[1]])
    s = (flat.abs() * weights).sum(1) * MAPPING["scale"]
    s = MAPPING["a"] * s + MAPPING["b"] * s * s + MAPPING["c"] * s * s * s
    positive = s > 0
    return torch.where(positive, 100.0 - 10.0 * torch.where(positive, s, 1.0).pow(MAPPING["power"]), 100.0)


def ssimulacra2_loss(x: Tensor, y: Tensor) -> Tensor:
    """``1 - ssimulacra2(x, y) / 100``, one per image, in the input's dtype: 0 for identical images.

    A training loss: shapes are checked, values are not (they are clamped to [0, 1], as a decoder would).

    Example:
        >>> x = torch.rand(1, 3, 32, 32)
        >>> y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1).requires_grad_()
        >>> ssimulacra2_loss(x, y).sum().backward()
        >>> bool(torch.isfinite(y.grad).all())
        True
    """
    check_images(x, y, MIN_SIDE, "ssimulacra2", values=False)
    return (1 - _score(x.clamp(0, 1), y.clamp(0, 1)) / 100).to(y.dtype)


class SSIMULACRA2(nn.Module):
    """:func:`ssimulacra2_loss` as a module (for training); ``score`` gives the SSIMULACRA2 score itself.

    Example:
        >>> criterion = SSIMULACRA2()
        >>> x = torch.rand(1, 3, 16, 16)
        >>> float(criterion(x, x))
        0.0
    """

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return ssimulacra2_loss(x, y)

    def score(self, x: Tensor, y: Tensor) -> Tensor:
        return ssimulacra2(x, y)

"""Adaptive DCT-domain masking: rate-distortion-optimal quantization decisions, made in the pixels.

The encoder rounds each DCT coefficient u = c/Q to the nearest level k. Near a decision boundary the level one step
closer to zero costs almost no extra distortion but saves bits (fewer nonzero coefficients, shorter runs). The
encoder cannot make that trade-off (libjpeg has no trellis quantization), but the image can: an edit that moves
the coefficient just inside the lower bin makes the unmodified encoder choose the cheaper level. That is the
preprocessing counterpart of rate-distortion-optimized quantization (RDOQ).

For every nonzero AC coefficient of every real block (luma 8×8, chroma after subsampling), one decision:

    lower |k| by one   iff   w_c · ΔSSE / 255²  <  s · λ(x) · ΔR

* ΔSSE = Q²·((|k| − 1 − |u|)² − (|k| − |u|)²): the real squared-error increase of the lower level;
* w_c: what one unit of that component's squared error costs in RGB MSE per pixel (1 for Y; for Cb/Cr the colour
  conversion's weights times the chroma sample's area);
* ΔR: bits saved, the rate network's marginal rate ∂R̂/∂|k| in this block's context (which knows that a lone ±1
  in a run of zeros is expensive and a change from 7 to 6 is not);
* λ(x): the image's own RD slope at this quality (:func:`rdjpeg.fast_lambda`), so the trade-off adapts to content;
* s: a global factor tuned on training images by real BD-rate (BENCHMARKS.md).

Decisions are taken for all coefficients at once and repeated ``iterations`` times (each round sees the rates
after the previous one). The result is an ordinary image; edits are exact in the luma DCT domain and, for chroma,
exact after the encoder's 2×2 averaging (up to 8-bit rounding, which ``margin`` absorbs).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...jpeg.tables import RGB_TO_YCBCR, SUBSAMPLINGS
from ...validate import check_int, subsampling_name
from ..checks import check_image, quality_tensor, tables_tensor
from ..simulator import _dct_matrix, simulate, unblockify
from .lagrangian import lambda_features, lambda_from_features, predict_lambda
from .rate import RateEstimator, rate_estimator

_YCC_TO_RGB = torch.linalg.inv(torch.tensor(RGB_TO_YCBCR))
# RGB MSE per pixel of a unit error in Y, Cb, Cr (mean over the three channels of the squared inverse-colour column).
_COMPONENT_WEIGHT = _YCC_TO_RGB.square().mean(0).tolist()

SCALE = 1.0  # tuned on training images (benchmarks/masking.py), never on Kodak
ITERATIONS = 3  # a fourth round gains 0.15 PSNR BD-rate points for a third more time (BENCHMARKS.md)
MARGIN = 0.1


def adaptive_masking(
    x: Tensor,
    quality: int | float | Tensor = 75,
    subsampling: str = "4:2:0",
    lam: Tensor | None = None,
    tables: Tensor | None = None,
    scale: float = SCALE,
    iterations: int = ITERATIONS,
    margin: float = MARGIN,
    model: RateEstimator | None = None,
) -> Tensor:
    """Edit ``x`` so that the encoder makes rate-distortion-optimal quantization decisions (see the module docs).

    Args:
        x: (B, 3, H, W) or (B, 1, H, W) images in [0, 1].
        quality: JPEG quality, scalar or per image.
        subsampling: the encoder's chroma subsampling.
        lam: (B,) λ in MSE per bpp; default :func:`rdjpeg.fast_lambda` (``estimate_lambda`` is more exact).
        tables: the encoder's quantization tables (2, 8, 8) or (B, 2, 8, 8) when they are not the IJG ones; the
            default λ is measured with them too.
        scale: multiplies λ (s above).
        iterations: decision rounds.
        margin: how far inside the lower bin a moved coefficient lands, in quantization steps.
        model: rate network (default: the shipped one).

    Returns:
        The edited images, same shape, in [0, 1]. Not differentiable (decisions are discrete).

    Example:
        >>> y = adaptive_masking(torch.rand(1, 3, 32, 32), quality=50)
        >>> y.shape
        torch.Size([1, 3, 32, 32])
    """
    check_image(x)
    check_int("iterations", iterations, 0)
    q = quality_tensor(quality, x.shape[0], x.device)
    tables = tables_tensor(tables, x.shape[0], x.device) if tables is not None else None
    return apply_masking(x, q, subsampling_name(subsampling), lam, tables, scale, iterations, margin, model)


def apply_masking(x: Tensor, quality: Tensor, subsampling: str, lam: Tensor | None = None,
                  tables: Tensor | None = None, scale: float = SCALE, iterations: int = ITERATIONS,
                  margin: float = MARGIN, model: RateEstimator | None = None) -> Tensor:  # fmt: skip
    """:func:`adaptive_masking` for checked inputs (``quality`` (B,) int64, ``subsampling`` a name, ``tables``
    None or (B, 2, 8, 8) int64)."""
    model = model or rate_estimator(device=x.device)
    if lam is None:
        lam = predict_lambda(x, quality, "mse", subsampling, tables)
    lam = torch.as_tensor(lam, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1, 1)
    colour = _YCC_TO_RGB.to(x)
    with torch.inference_mode(False), torch.enable_grad():
        x = x.detach().clone()
        for _ in range(iterations):
            sim = simulate(x, quality, subsampling, tables=tables, decode=False)
            levels = [k.detach().clone().requires_grad_() for k in sim.coefficients]
            model(levels)[:, 0].sum().backward()
            edits = [_component_edit(ci, k, u, sim, x.shape[-2:], lam, scale, margin)
                     for ci, (k, u) in enumerate(zip(levels, sim.scaled, strict=True))]  # fmt: skip
            change = torch.stack(edits, 1)
            if len(edits) == 3:
                change = torch.einsum("ck,bkhw->bchw", colour, change)
            x = (x + change / 255).clamp(0, 1)
    return x


STRIP_PIXELS = 1_000_000  # pixels per strip of :func:`mask_in_strips`: its memory (about 0.3 GB per megapixel)


def mask_in_strips(x: Tensor, quality: Tensor, subsampling: str, tables: Tensor | None = None,
                   rows: int | None = None, out: Tensor | None = None) -> Tensor:  # fmt: skip
    """:func:`apply_masking` for one large image, ``rows`` rows at a time (default: about :data:`STRIP_PIXELS` pixels,
    whole 16-row MCUs): memory grows with the strip, not the image. ``out``: where the result goes (``x`` itself is
    allowed: each strip is read before it is written); default a new tensor.

    Blocks are quantized independently, so each strip's decisions are the whole image's but for the rate network's
    context, which becomes the strip's (its mean block features, and the block above as the DC predictor of a strip's
    first block). λ is the whole image's: the simulator's MSE and the rate network's bits, summed over the strips.
    """
    height = x.shape[-2]
    rows = rows or max(16, STRIP_PIXELS // x.shape[-1] // 16 * 16)
    strips = [(top, min(height, top + rows)) for top in range(0, height, rows)]
    # (MSE, bits per pixel) of each strip, weighted by its share of the rows; every strip's bits count the file's
    # header once, the image's only once.
    header = 1000 * float(rate_estimator(device=x.device).header[int(x.shape[1] > 1), 0]) / (height * x.shape[-1])
    features = torch.stack([lambda_features(x[..., a:b, :], quality, "mse", subsampling, tables)[0] * (b - a) / height
                            for a, b in strips]).sum(0) - torch.tensor([0.0, header * (len(strips) - 1)])  # fmt: skip
    lam = lambda_from_features(features[None], "mse")
    out = torch.empty_like(x) if out is None else out
    for a, b in strips:
        out[..., a:b, :] = apply_masking(x[..., a:b, :], quality, subsampling, lam, tables)
    return out


def _component_edit(ci: int, k: Tensor, u: Tensor, sim, size, lam: Tensor, scale: float, margin: float) -> Tensor:
    """The pixel change (in 8-bit levels) of component ``ci`` that lowers the levels worth lowering, from its
    levels ``k`` (their gradient: the rate network's marginal bits) and unrounded coefficients ``u``."""
    saving, k, u = k.grad * k.detach().sign(), k.detach(), u.detach()  # bits saved by |k| − 1
    step = sim.tables[:, min(ci, 1), None, None].to(u)
    h, v = SUBSAMPLINGS[sim.subsampling] if ci else (1, 1)  # luma pixels per chroma sample: columns, rows
    a, mag = u.abs(), k.abs()
    dsse = step.square() * ((mag - 1 - a).square() - (mag - a).square())
    lower = (mag >= 1) & (_COMPONENT_WEIGHT[ci] * v * h * dsse / 255**2 < scale * lam * saving)
    lower[..., 0, 0] = False  # DC is coded as a difference to the previous block: leave it
    target = torch.minimum((mag - 0.5 - margin).clamp_min(0), a)
    delta = torch.where(lower, (target - a) * u.sign(), torch.zeros_like(u)) * step
    m = _dct_matrix(u.dtype, u.device)
    plane = unblockify(m.T @ delta @ m)  # orthonormal inverse DCT: the sample changes
    # A chroma sample covers v×h pixels; the encoder's averaging gives the change back exactly.
    B, H, W = plane.shape
    plane = plane[:, :, None, :, None].expand(B, H, v, W, h).reshape(B, H * v, W * h)
    return plane[:, : size[0], : size[1]]


class AdaptiveMasking(nn.Module):
    """Module form of :func:`adaptive_masking` (no parameters; the rate network is the shipped one).

    Example:
        >>> AdaptiveMasking()(torch.rand(2, 3, 24, 24), quality=torch.tensor([30, 70])).shape
        torch.Size([2, 3, 24, 24])
    """

    def __init__(self, subsampling: str = "4:2:0", scale: float = SCALE, iterations: int = ITERATIONS) -> None:
        super().__init__()
        self.subsampling, self.scale, self.iterations = subsampling, scale, iterations

    def forward(self, x: Tensor, quality: int | float | Tensor = 75, lam: Tensor | None = None) -> Tensor:
        return adaptive_masking(x, quality, self.subsampling, lam, scale=self.scale, iterations=self.iterations)

    def extra_repr(self) -> str:
        return f"subsampling={self.subsampling!r}, scale={self.scale}, iterations={self.iterations}"

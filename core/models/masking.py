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

from ..jpeg.simulator import _check_image, _dct_matrix, resolve_quality, resolve_subsampling, simulate_jpeg, unblockify
from ..jpeg.tables import RGB_TO_YCBCR, SUBSAMPLINGS
from .lagrangian import fast_lambda
from .rate import RateEstimator, rate_estimator

_YCC_TO_RGB = torch.linalg.inv(torch.tensor(RGB_TO_YCBCR))
# RGB MSE per pixel of a unit error in Y, Cb, Cr (mean over the three channels of the squared inverse-colour column).
_COMPONENT_WEIGHT = _YCC_TO_RGB.square().mean(0).tolist()

SCALE = 1.0  # tuned on training images (benchmarks/masking.py), never on Kodak
ITERATIONS = 4
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
    _check_image(x)
    if iterations < 0:
        raise ValueError(f"iterations must be ≥ 0, got {iterations}")
    q = resolve_quality(quality, x.shape[0], x.device)
    model = model or rate_estimator()
    if lam is None:
        lam = fast_lambda(x, q, "mse", subsampling, tables)
    lam = torch.as_tensor(lam, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1, 1)
    H, W = x.shape[-2:]
    m = _dct_matrix(x.dtype, x.device)
    colour = _YCC_TO_RGB.to(x)
    h, v = SUBSAMPLINGS[resolve_subsampling(subsampling)]
    factors = (v, h)  # rows, columns of luma pixels per chroma sample
    with torch.inference_mode(False), torch.enable_grad():
        x = x.detach().clone()
        for _ in range(iterations):
            sim = simulate_jpeg(x, q, subsampling, tables=tables, decode=False)
            levels = [k.detach().clone().requires_grad_() for k in sim.coefficients]
            model(levels)[:, 0].sum().backward()
            edits = []
            for ci, (k, u) in enumerate(zip(levels, sim.scaled, strict=True)):
                saving, k, u = k.grad * k.detach().sign(), k.detach(), u.detach()  # bits saved by |k| − 1
                step = sim.tables[:, min(ci, 1), None, None].to(x)
                (v, h), a, mag = (1, 1) if ci == 0 else factors, u.abs(), k.abs()
                dsse = step.square() * ((mag - 1 - a).square() - (mag - a).square())
                lower = (mag >= 1) & (_COMPONENT_WEIGHT[ci] * v * h * dsse / 255**2 < scale * lam * saving)
                lower[..., 0, 0] = False  # DC is coded as a difference to the previous block: leave it
                target = torch.minimum((mag - 0.5 - margin).clamp_min(0), a)
                delta = torch.where(lower, (target - a) * u.sign(), torch.zeros_like(u)) * step
                plane = unblockify(m.T @ delta @ m)  # orthonormal inverse DCT: the sample changes
                # A chroma sample covers v×h pixels; the encoder's averaging gives the change back exactly.
                edits.append(plane.repeat_interleave(v, 1).repeat_interleave(h, 2)[:, :H, :W])
            change = torch.stack(edits, 1)
            if len(edits) == 3:
                change = torch.einsum("ck,bkhw->bchw", colour, change)
            x = (x + change / 255).clamp(0, 1)
    return x


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

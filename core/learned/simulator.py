"""Differentiable JPEG encode→decode whose forward pass is libjpeg-turbo's, bit for bit.

Two pipelines run side by side:

* an **exact** integer pipeline (no gradient; its integers in int64, or in float32/float64 wherever every value
  is an integer that type holds exactly) that reproduces what Pillow's libjpeg-turbo does:
  ``jccolor.c`` fixed-point RGB→YCbCr, ``jcsample.c`` box downsampling with alternating rounding bias, MCU edge
  replication, ``jfdctint.c`` islow forward DCT, ``jcdctmgr.c`` rounding quantizer, ``jidctint.c`` islow inverse
  DCT with its range-limit table, ``jdsample.c`` fancy (triangle) upsampling and ``jdcolor.c`` YCbCr→RGB;
* a **linear** float pipeline (Kornia colour conversion, orthonormal 8×8 DCT, average pooling, bilinear
  upsampling) that supplies the gradients.

The exact values are grafted onto the linear pipeline at the quantizer input and at the output
(``linear + (exact - linear).detach()``), so the forward output equals the real codec while the backward pass is the
linear pipeline's, with the chosen rounding surrogate at the quantizer.  Every stage except the quantizer is affine,
so its gradient does not depend on where it is evaluated; the quantizer surrogate is evaluated at the exact
coefficients.  See ``docs/simulator.md`` for the surrogates and the adaptive masking design.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import kornia
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..jpeg.tables import SUBSAMPLINGS, ijg_tables
from ..validate import check_choice, subsampling_name
from .checks import check_image, quality_tensor, tables_tensor


def quality_tables(quality: Tensor, device: torch.device | str | None = None) -> Tensor:
    """Standard IJG tables for each quality of (B,) ``quality``: (B, 2, 8, 8) int64, index 0 luminance, 1 chrominance
    (:func:`rdjpeg.jpeg.tables.ijg_tables` as a tensor)."""
    return torch.from_numpy(ijg_tables(quality.detach().cpu().numpy())).to(device or quality.device)


ROUNDINGS = ("mask", "ste", "cubic", "noise")

# ---------------------------------------------------------------------------------------------------------------
# Exact integer stages (libjpeg-turbo, 8-bit samples, JDCT_ISLOW).


def _fix(x: float, bits: int) -> int:
    return int(x * (1 << bits) + 0.5)


# jccolor.c's fixed-point matrix (16 fractional bits) and rounding terms; B_CB and R_CR carry ONE_HALF - 1 so that Cb
# and Cr never reach 256. Every product, partial sum and total is an integer of magnitude below 2^24, so float32
# holds them exactly in any summation order, and the conversion runs as one float32 matrix product.
_RGB_TO_YCC_FIX = torch.tensor([[_fix(0.299, 16), _fix(0.587, 16), _fix(0.114, 16)],
                                [-_fix(0.16874, 16), -_fix(0.33126, 16), _fix(0.5, 16)],
                                [_fix(0.5, 16), -_fix(0.41869, 16), -_fix(0.08131, 16)]],
                               dtype=torch.float32)  # fmt: skip
_RGB_TO_YCC_ADD = torch.tensor([1 << 15, (128 << 16) + (1 << 15) - 1, (128 << 16) + (1 << 15) - 1], dtype=torch.float32)


def rgb_to_ycbcr_exact(rgb: Tensor) -> Tensor:
    """``jccolor.c`` rgb_ycc_convert on integer samples 0..255 (any dtype), shape (B, 3, H, W); integer-valued
    float32 out."""
    m, add = _RGB_TO_YCC_FIX.to(rgb.device), _RGB_TO_YCC_ADD.to(rgb.device)
    ycc = torch.einsum("ck,bkhw->bchw", m, rgb.float()).add_(add[:, None, None])
    return ycc.mul_(1.0 / (1 << 16)).floor_()


# jdcolor.c's fixed-point tables as one matrix on (Cb − 128, Cr − 128), with its rounding term; as above, every
# value is an integer below 2^24 in magnitude, exact in float32.
_YCC_TO_RGB_FIX = torch.tensor([[0, _fix(1.402, 16)], [-_fix(0.34414, 16), -_fix(0.71414, 16)], [_fix(1.772, 16), 0]],
                               dtype=torch.float32)  # fmt: skip


def ycbcr_to_rgb_exact(ycc: Tensor) -> Tensor:
    """``jdcolor.c`` ycc_rgb_convert on integer samples 0..255, shape (B, 3, H, W); int64 out."""
    chroma = ycc[:, 1:].float() - 128
    rgb = torch.einsum("ck,bkhw->bchw", _YCC_TO_RGB_FIX.to(ycc.device), chroma).add_(1 << 15)
    return rgb.mul_(1.0 / (1 << 16)).floor_().add_(ycc[:, :1]).clamp_(0, 255).long()


def downsample_exact(plane: Tensor, h: int, v: int) -> Tensor:
    """``jcsample.c`` h2v1/h2v2 downsampling of (B, H, W) integer-valued float planes whose sides are multiples of
    (v, h) (sums of at most four samples, shifts by powers of two: exact)."""
    if h == 1 and v == 1:
        return plane
    s = plane[..., 0::2] + plane[..., 1::2] if h == 2 else plane
    s = s[:, 0::2] + s[:, 1::2] if v == 2 else s
    # The bias alternates along each row so that rounding errors do not accumulate in one direction.
    bias = torch.arange(s.shape[-1], device=plane.device, dtype=s.dtype) % 2
    bias = bias + 1 if v == 2 else bias  # h2v2: 1,2,1,2…  h2v1: 0,1,0,1…
    return s.add_(bias).mul_(1.0 / (h * v)).floor_()


# islow constants (CONST_BITS = 13)
_C = {name: _fix(val, 13) for name, val in {
    "0_298631336": 0.298631336, "0_390180644": 0.390180644, "0_541196100": 0.541196100,
    "0_765366865": 0.765366865, "0_899976223": 0.899976223, "1_175875602": 1.175875602,
    "1_501321110": 1.501321110, "1_847759065": 1.847759065, "1_961570560": 1.961570560,
    "2_053119869": 2.053119869, "2_562915447": 2.562915447, "3_072711026": 3.072711026,
}.items()}  # fmt: skip
_CONST_BITS, _PASS1_BITS = 13, 2


def _fdct_1d(d: Tensor) -> Tensor:
    """One pass of ``jpeg_fdct_islow`` along the last dimension, before its final rounding: every output at the
    scale 2^CONST_BITS (the DC and middle terms, which libjpeg shifts instead, are shifted up to match, which
    changes nothing after the rounding). Integer-linear in ``d``."""
    d0, d1, d2, d3, d4, d5, d6, d7 = d.unbind(-1)
    tmp0, tmp7 = d0 + d7, d0 - d7
    tmp1, tmp6 = d1 + d6, d1 - d6
    tmp2, tmp5 = d2 + d5, d2 - d5
    tmp3, tmp4 = d3 + d4, d3 - d4
    tmp10, tmp13 = tmp0 + tmp3, tmp0 - tmp3
    tmp11, tmp12 = tmp1 + tmp2, tmp1 - tmp2
    out0, out4 = (tmp10 + tmp11) << _CONST_BITS, (tmp10 - tmp11) << _CONST_BITS
    z1 = (tmp12 + tmp13) * _C["0_541196100"]
    out2, out6 = z1 + tmp13 * _C["0_765366865"], z1 - tmp12 * _C["1_847759065"]
    z1, z2, z3, z4 = tmp4 + tmp7, tmp5 + tmp6, tmp4 + tmp6, tmp5 + tmp7
    z5 = (z3 + z4) * _C["1_175875602"]
    tmp4, tmp5 = tmp4 * _C["0_298631336"], tmp5 * _C["2_053119869"]
    tmp6, tmp7 = tmp6 * _C["3_072711026"], tmp7 * _C["1_501321110"]
    z1, z2 = z1 * -_C["0_899976223"], z2 * -_C["2_562915447"]
    z3, z4 = z3 * -_C["1_961570560"] + z5, z4 * -_C["0_390180644"] + z5
    out7, out5, out3, out1 = tmp4 + z1 + z3, tmp5 + z2 + z4, tmp6 + z2 + z3, tmp7 + z1 + z4
    return torch.stack([out0, out1, out2, out3, out4, out5, out6, out7], -1)


def _idct_1d(d: Tensor) -> Tensor:
    """One pass of ``jpeg_idct_islow`` along the last dimension, before its final rounding. Integer-linear."""
    d0, d1, d2, d3, d4, d5, d6, d7 = d.unbind(-1)
    z1 = (d2 + d6) * _C["0_541196100"]
    tmp2 = z1 - d6 * _C["1_847759065"]
    tmp3 = z1 + d2 * _C["0_765366865"]
    tmp0, tmp1 = (d0 + d4) << _CONST_BITS, (d0 - d4) << _CONST_BITS
    tmp10, tmp13 = tmp0 + tmp3, tmp0 - tmp3
    tmp11, tmp12 = tmp1 + tmp2, tmp1 - tmp2
    t0, t1, t2, t3 = d7, d5, d3, d1
    z1, z2, z3, z4 = t0 + t3, t1 + t2, t0 + t2, t1 + t3
    z5 = (z3 + z4) * _C["1_175875602"]
    t0, t1 = t0 * _C["0_298631336"], t1 * _C["2_053119869"]
    t2, t3 = t2 * _C["3_072711026"], t3 * _C["1_501321110"]
    z1, z2 = z1 * -_C["0_899976223"], z2 * -_C["2_562915447"]
    z3, z4 = z3 * -_C["1_961570560"] + z5, z4 * -_C["0_390180644"] + z5
    t0, t1, t2, t3 = t0 + z1 + z3, t1 + z2 + z4, t2 + z2 + z3, t3 + z1 + z4
    return torch.stack([tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0, tmp13 - t0, tmp12 - t1, tmp11 - t2,
                        tmp10 - t3], -1)  # fmt: skip


# Each pass is an integer matrix followed by a rounding shift, so both transforms run as float64 matrix products:
# every intermediate stays below 2^40, where float64 holds integers exactly, and the shifts are exact floors.
_FDCT = _fdct_1d(torch.eye(8, dtype=torch.int64)).double()  # row vector d → d @ _FDCT
_IDCT = _idct_1d(torch.eye(8, dtype=torch.int64)).double()


def _descale_(x: Tensor, n: int) -> Tensor:
    """libjpeg's DESCALE (round, then shift right by ``n``) of integer-valued float64 ``x``, exactly, in place."""
    return x.add_(1 << (n - 1)).mul_(1.0 / (1 << n)).floor_()


def fdct_islow(blocks: Tensor) -> Tensor:
    """``jpeg_fdct_islow`` on level-shifted integer blocks (..., 8, 8); output scaled up by 8, as integer-valued
    float64 (the stages after it stay in float64, which holds their integers exactly)."""
    rows = _descale_(blocks.double() @ _FDCT.to(blocks.device), _CONST_BITS - _PASS1_BITS)
    return _descale_(_FDCT.T.to(blocks.device) @ rows, _CONST_BITS + _PASS1_BITS)


# The post-IDCT half of ``prepare_range_limit_table``, indexed with ``v & RANGE_MASK`` (1023).
_RANGE_LIMIT = torch.cat([torch.arange(128, 256), torch.full((384,), 255), torch.zeros(384, dtype=torch.int64),
                          torch.arange(0, 128)])  # fmt: skip


def idct_islow(coef: Tensor, qtable: Tensor) -> Tensor:
    """Dequantize and ``jpeg_idct_islow``: integer-valued (..., 8, 8) quantized coefficients → int64 samples 0..255."""
    idct = _IDCT.to(coef.device)
    cols = _descale_(idct.T @ (coef * qtable).double(), _CONST_BITS - _PASS1_BITS)  # columns first
    return _RANGE_LIMIT.to(coef.device)[_descale_(cols @ idct, _CONST_BITS + _PASS1_BITS + 3).long() & 1023]


def quantize_exact(scaled: Tensor, qtable: Tensor) -> Tensor:
    """``jcdctmgr.c`` quantize: round half away from zero of ``scaled / (8 q)``, on integer-valued float64 ``scaled``
    (below 2^40; the quotient is then never within float64's error of the next integer, so the floor is exact)."""
    d = (qtable * 8).double()
    return torch.floor((scaled.abs() + d * 0.5) / d).mul_(torch.sign(scaled))


def upsample_exact(plane: Tensor, h: int, v: int) -> Tensor:
    """``jdsample.c`` upsampling of a (B, h_in, w_in) int64 plane cropped to its downsampled size, by (v, h).

    libjpeg-turbo uses the triangle ("fancy") filter when the downsampled width exceeds 2 samples, and plain
    replication otherwise; edges replicate the last real row and column.
    """
    if h == 1 and v == 1:
        return plane
    if plane.shape[-1] <= 2:
        out = plane.repeat_interleave(h, -1)
        return out.repeat_interleave(v, -2) if v == 2 else out
    p = F.pad(plane[:, None].float(), (1, 1, 1, 1) if v == 2 else (1, 1, 0, 0), mode="replicate")
    p = p[:, 0].to(torch.int64)
    if v == 2:
        near = p[:, 1:-1]
        above, below = 3 * near + p[:, :-2], 3 * near + p[:, 2:]
        rows = torch.stack([above, below], 2).flatten(1, 2)  # column sums, scaled by 4
        left = (3 * rows[..., 1:-1] + rows[..., :-2] + 8) >> 4
        right = (3 * rows[..., 1:-1] + rows[..., 2:] + 7) >> 4
    else:
        left = (3 * p[..., 1:-1] + p[..., :-2] + 1) >> 2
        right = (3 * p[..., 1:-1] + p[..., 2:] + 2) >> 2
    return torch.stack([left, right], -1).flatten(-2)


# ---------------------------------------------------------------------------------------------------------------
# Linear (gradient) stages.


def _dct_matrix(dtype: torch.dtype, device: torch.device) -> Tensor:
    n = torch.arange(8, dtype=torch.float64)
    m = torch.cos((2 * n[None] + 1) * n[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    m[0] /= math.sqrt(2)
    return m.to(dtype=dtype, device=device)


def blockify(plane: Tensor) -> Tensor:
    """(B, 8·by, 8·bx) → (B, by, bx, 8, 8)."""
    B, H, W = plane.shape
    return plane.reshape(B, H // 8, 8, W // 8, 8).transpose(2, 3)


def unblockify(blocks: Tensor) -> Tensor:
    """(B, by, bx, 8, 8) → (B, 8·by, 8·bx)."""
    B, by, bx = blocks.shape[:3]
    return blocks.transpose(2, 3).reshape(B, by * 8, bx * 8)


def _pad_replicate(x: Tensor, H: int, W: int) -> Tensor:
    """Replicate the bottom row and right column of (B, C, h, w) up to (H, W), as libjpeg's edge expansion does."""
    dh, dw = H - x.shape[-2], W - x.shape[-1]
    if dh == 0 and dw == 0:
        return x
    if x.dtype == torch.int64:  # replicate padding is not implemented for integer tensors
        x = x[..., torch.arange(H, device=x.device).clamp(max=x.shape[-2] - 1), :]
        return x[..., torch.arange(W, device=x.device).clamp(max=x.shape[-1] - 1)]
    return F.pad(x, (0, dw, 0, dh), mode="replicate")


# ---------------------------------------------------------------------------------------------------------------
# Rounding surrogates: forward = the exact quantized integer (except "noise"), backward = the surrogate's.


MASK_WIDTH = 0.05  # width of the mask's logistic ramp, in quantization steps (benchmarks/surrogates.py)


def adaptive_mask(u: Tensor, width: float | None = None) -> Tensor:
    """Adaptive DCT-domain mask: which coefficients the quantizer keeps (≈1) and which it zeroes (≈0).

    ``u`` is the coefficient divided by its quantization step, so the mask adapts both to the quality (step) and to
    the content (coefficient magnitude): it closes on the dead zone |u| < ½, where the real quantizer outputs zero,
    with a logistic ramp ``width`` steps wide (default :data:`MASK_WIDTH`).
    """
    return torch.sigmoid((u.abs() - 0.5) / (MASK_WIDTH if width is None else width))


def relaxed_rounding(u: Tensor, rounding: str) -> Tensor:
    """The proxy for ``round(u)`` whose gradient each surrogate uses, and whose value the proxy decode shows.

    * ``"ste"``: ``u``: the codec is treated as the identity (gradient 1, quantization error held constant);
    * ``"cubic"``: ``round(u) + (u − round(u))³`` with round() held constant (Shin & Song 2017);
    * ``"noise"``: ``u + U(−½, ½)`` (Ballé et al. 2017);
    * ``"mask"``: value ``u``, gradient ``adaptive_mask(u)``: a straight-through estimator gated by the dead zone.
      Coefficients that the quantizer discards pass no gradient (neither distortion nor rate can change the real
      file through them); survivors pass gradient 1 with their rounding error held constant.  It is not the
      derivative of a smooth function, so ``gradcheck`` applies to the other three only.

    Why this shape: a proxy that *follows* the quantizer's jumps (cubic, a soft staircase, or evaluating the
    distortion at the real decoded image) feeds the rounding error back into the gradient, and gradient descent
    then pre-compensates it and piles coefficients onto the rounding boundaries; the real cost never improves
    (BENCHMARKS.md, "Rounding surrogates").
    """
    if rounding == "ste":
        return u
    if rounding == "cubic":
        r = u.detach().round()
        return r + (u - r) ** 3
    if rounding == "noise":
        return u + (torch.rand_like(u) - 0.5)
    flat = u.detach()
    return flat + adaptive_mask(flat) * (u - flat)


# ---------------------------------------------------------------------------------------------------------------
# Public API.


@dataclass
class JPEGSimulation:
    """Everything one simulated encode→decode produces.

    Attributes:
        decoded: (B, C, H, W) decoded image in [0, 1], the input's dtype; exact forward, surrogate backward.
        proxy: (B, C, H, W) the surrogate's smooth reconstruction (the float pipeline with
            :func:`relaxed_rounding` at the quantizer); same Jacobian as ``decoded``, different value. None when no
            gradient could flow, and only the exact pipeline ran.
        coefficients: per component (Y, Cb, Cr or Y), quantized DCT coefficients (B, by, bx, 8, 8) as floats with
            surrogate gradients; block grids as in the real file (without libjpeg's dummy MCU-padding blocks).
        scaled: per component, the unrounded coefficients divided by their step (B, by, bx, 8, 8), differentiable.
        tables: (B, 2, 8, 8) int64 quantization tables (luminance, chrominance) in natural order.
        subsampling: the chroma subsampling used.
    """

    decoded: Tensor | None
    proxy: Tensor | None
    coefficients: list[Tensor]
    scaled: list[Tensor]
    tables: Tensor
    subsampling: str

    def distortion(self, metric: Callable[[Tensor, Tensor], Tensor], reference: Tensor, at: str = "proxy") -> Tensor:
        """``metric(reference, decoded)`` in value, with the gradient taken at ``at``.

        "proxy" (default): the gradient of ``metric(reference, proxy)``, at the surrogate's reconstruction: for
        "mask" and "ste" the unquantized image, so the quantization error is held constant instead of being fed back
        (see :func:`relaxed_rounding`). Right for fidelity metrics (MSE, MS-SSIM). "decoded": the gradient of
        ``metric(reference, decoded)`` at the real decode, through the surrogate's Jacobian. Right for deep
        perceptual metrics such as LPIPS (``Metric.gradient_at`` records which).
        """
        if at not in ("proxy", "decoded"):
            raise ValueError(f"at must be 'proxy' or 'decoded', got {at!r}")
        if at == "decoded" or self.proxy is None:
            return metric(reference, self.decoded)
        real = metric(reference, self.decoded.detach())
        smooth = metric(reference, self.proxy)
        return real + (smooth - smooth.detach())


def simulate_jpeg(
    x: Tensor,
    quality: int | float | Tensor = 75,
    subsampling: str | int = "4:2:0",
    rounding: str = "mask",
    tables: Tensor | None = None,
    relaxed: bool = False,
    decode: bool = True,
) -> JPEGSimulation:
    """Simulate a libjpeg-turbo (Pillow) JPEG encode→decode and return the decoded image and coefficients.

    Args:
        x: (B, 3, H, W) RGB or (B, 1, H, W) grayscale float image in [0, 1]; the encoder sees ``round(255·x)``.
        quality: IJG quality 1..100, a scalar or one per image. Ignored when ``tables`` is given.
        subsampling: "4:4:4", "4:2:2" or "4:2:0" (or Pillow's 0, 1, 2); ignored for grayscale.
        rounding: gradient surrogate at the quantizer: "mask" (adaptive DCT-domain masking, default), "ste",
            "cubic" or "noise". The forward pass is the real codec's for all but "noise".
        tables: optional custom quantization tables (2, 8, 8) or (B, 2, 8, 8), natural order, 1..255.
        relaxed: if True, the forward pass is the float pipeline with :func:`relaxed_rounding` instead of the real
            codec; for "ste", "cubic" and "noise" a smooth function whose exact derivative is the backward pass
            (for ``gradcheck`` and analysis; the coefficients are then floats).
        decode: if False, stop after quantization (about half the work): ``decoded`` and ``proxy`` are None. Rate
            models need only the coefficients.

    Returns:
        A :class:`JPEGSimulation`.

    Shape:
        - Input: (B, C, H, W), C ∈ {1, 3}, any H, W ≥ 1.
        - Output ``decoded``: (B, C, H, W).

    Example:
        >>> x = torch.rand(2, 3, 32, 48)
        >>> sim = simulate_jpeg(x, quality=torch.tensor([30, 90]))
        >>> sim.decoded.shape, sim.coefficients[1].shape
        (torch.Size([2, 3, 32, 48]), torch.Size([2, 2, 3, 8, 8]))
    """
    check_image(x)
    check_choice("rounding", rounding, ROUNDINGS)
    B = x.shape[0]
    q = quality_tensor(quality, B, x.device) if tables is None else None
    tables = tables_tensor(tables, B, x.device) if tables is not None else None
    return simulate(x, q, subsampling_name(subsampling), rounding, tables, relaxed, decode)


def simulate(
    x: Tensor,
    quality: Tensor | None,
    subsampling: str,
    rounding: str = "mask",
    tables: Tensor | None = None,
    relaxed: bool = False,
    decode: bool = True,
) -> JPEGSimulation:
    """:func:`simulate_jpeg` for checked inputs: ``quality`` (B,) int64 (None with ``tables`` (B, 2, 8, 8) int64),
    ``subsampling`` a name. Inside rdjpeg; 60+ lines because the exact and linear pipelines run side by side.

    When no gradient can flow (``x`` needs none, or grad mode is off) and the forward pass is the exact one, only the
    exact pipeline runs (about half the work), and ``proxy`` is None."""
    C, H, W = x.shape[1:]
    device, dtype = x.device, x.dtype
    if tables is None:
        tables = quality_tables(quality)
    hmax, vmax = SUBSAMPLINGS[subsampling] if C == 3 else (1, 1)
    dct = _dct_matrix(dtype, device)

    # Samples as the encoder receives them: 8-bit, gradient passed straight through.
    x255 = x * 255
    with torch.no_grad():
        rgb_exact = x255.round()
        ycc_exact = rgb_to_ycbcr_exact(rgb_exact) if C == 3 else rgb_exact.float()
    exact_forward = not relaxed and rounding != "noise"
    linear = not exact_forward or (torch.is_grad_enabled() and x.requires_grad)
    if linear:
        ycc_lin = kornia.color.rgb_to_ycbcr(x) * 255 if C == 3 else x255

    coefficients, scaled, planes_exact, planes_lin = [], [], [], []
    for ci in range(C):
        h, v = (1, 1) if ci == 0 else (hmax, vmax)
        bx, by = -(-W // (8 * h)), -(-H // (8 * v))  # width_in_blocks = ceil(W·h_c / (h_max·8)), etc.
        qtab = tables[:, min(ci, 1), None, None]  # (B, 1, 1, 8, 8)
        with torch.no_grad():
            # Rows: the last row group is completed in full resolution, then the last *downsampled* row is
            # replicated (jcprepct.c); columns: full-resolution replication (jcsample.c expand_right_edge).
            full = _pad_replicate(ycc_exact[:, ci : ci + 1], -(-H // v) * v, bx * 8 * h)
            plane = _pad_replicate(downsample_exact(full[:, 0], h, v)[:, None], by * 8, bx * 8)[:, 0]
            blocks = blockify(plane) - 128
            fdct = fdct_islow(blocks)
            k_exact = quantize_exact(fdct, qtab)
        if not linear:
            coefficients.append(k_exact.to(dtype))
            scaled.append(fdct.to(dtype) / (8 * qtab))
        else:
            lin = _pad_replicate(ycc_lin[:, ci : ci + 1], -(-H // v) * v, bx * 8 * h)
            lin = _pad_replicate(F.avg_pool2d(lin, (v, h)), by * 8, bx * 8)[:, 0]
            u_lin = dct @ (blockify(lin) - 128) @ dct.T / qtab
            # Evaluate the surrogate at the real coefficients (in relaxed mode: at the smooth pipeline's).
            u = u_lin if relaxed else u_lin + (fdct.to(dtype) / (8 * qtab) - u_lin).detach()
            k_smooth = relaxed_rounding(u, rounding)
            k = k_exact.to(dtype) + (k_smooth - k_smooth.detach()) if exact_forward else k_smooth
            coefficients.append(k)
            scaled.append(u)
        if not decode:
            continue
        ch, cw = -(-H // v), -(-W // h)  # downsampled_height / downsampled_width
        with torch.no_grad():
            rec = unblockify(idct_islow(k_exact, qtab))
            planes_exact.append(upsample_exact(rec[:, :ch, :cw], h, v)[:, :H, :W])
        if not linear:
            continue
        rec_lin = unblockify(dct.T @ (k_smooth * qtab) @ dct + 128)
        if (h, v) != (1, 1):
            rec_lin = rec_lin[:, None, :ch, :cw]
            rec_lin = F.interpolate(rec_lin, scale_factor=(v, h), mode="bilinear", align_corners=False)[:, 0]
        planes_lin.append(rec_lin[:, :H, :W])

    if not decode:
        return JPEGSimulation(None, None, coefficients, scaled, tables, subsampling)
    with torch.no_grad():
        ycc_dec = torch.stack(planes_exact, 1)
        out_exact = ycbcr_to_rgb_exact(ycc_dec) if C == 3 else ycc_dec
    if not linear:
        return JPEGSimulation(out_exact.to(dtype) / 255, None, coefficients, scaled, tables, subsampling)
    ycc_dec_lin = torch.stack(planes_lin, 1)
    out_lin = kornia.color.ycbcr_to_rgb(ycc_dec_lin / 255) * 255 if C == 3 else ycc_dec_lin
    proxy = out_lin.clamp(0, 255)  # clipped pixels pass no gradient, as in the real decoder's range limiting
    decoded = out_exact.to(dtype) + (proxy - proxy.detach()) if exact_forward else proxy
    return JPEGSimulation(decoded / 255, proxy / 255, coefficients, scaled, tables, subsampling)


def diff_jpeg(
    x: Tensor,
    quality: int | float | Tensor = 75,
    subsampling: str | int = "4:2:0",
    rounding: str = "mask",
    tables: Tensor | None = None,
) -> Tensor:
    """Differentiable JPEG encode→decode; the forward pass equals Pillow's real codec.

    Args:
        x: (B, 3, H, W) or (B, 1, H, W) float image in [0, 1]; a single (C, H, W) image is accepted too.
        quality: IJG quality 1..100, a scalar or a (B,) tensor.
        subsampling: "4:4:4", "4:2:2" or "4:2:0" (or Pillow's 0, 1, 2).
        rounding: "mask" (default), "ste", "cubic" or "noise"; see :func:`simulate_jpeg`.
        tables: optional custom quantization tables, (2, 8, 8) or (B, 2, 8, 8).

    Returns:
        The decoded image, same shape and dtype as ``x``.

    Example:
        >>> y = diff_jpeg(torch.rand(1, 3, 17, 13), quality=50)
        >>> y.shape
        torch.Size([1, 3, 17, 13])
    """
    single = isinstance(x, Tensor) and x.dim() == 3
    out = simulate_jpeg(x[None] if single else x, quality, subsampling, rounding, tables).decoded
    return out[0] if single else out


class DiffJPEG(nn.Module):
    """Module form of :func:`diff_jpeg` with fixed subsampling and rounding; quality is given per call.

    Example:
        >>> jpeg = DiffJPEG(subsampling="4:4:4")
        >>> jpeg(torch.rand(2, 3, 16, 16), quality=torch.tensor([20, 80])).shape
        torch.Size([2, 3, 16, 16])
    """

    def __init__(self, subsampling: str | int = "4:2:0", rounding: str = "mask") -> None:
        super().__init__()
        self.subsampling = subsampling_name(subsampling)
        self.rounding = check_choice("rounding", rounding, ROUNDINGS)

    def forward(self, x: Tensor, quality: int | float | Tensor = 75, tables: Tensor | None = None) -> Tensor:
        return diff_jpeg(x, quality, self.subsampling, self.rounding, tables)

    def extra_repr(self) -> str:
        return f"subsampling={self.subsampling!r}, rounding={self.rounding!r}"

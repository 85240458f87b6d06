"""IJG (libjpeg) quantization tables and quality scaling.

The numbers and integer arithmetic follow libjpeg-turbo's ``jcparam.c`` exactly, so the simulator and every encoder
backend that uses the standard tables agree on the quantizer.
"""

from __future__ import annotations

import torch

# Chroma subsampling: (horizontal, vertical) luma pixels per chroma sample. Pillow numbers them 0, 1, 2 in this order.
SUBSAMPLINGS = {"4:4:4": (1, 1), "4:2:2": (2, 1), "4:2:0": (2, 2)}
PILLOW_SUBSAMPLING = {name: number for number, name in enumerate(SUBSAMPLINGS)}

# ITU-T T.81 Annex K tables, natural (row-major) order.
STD_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
STD_CHROMINANCE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip


def quality_scaling(quality: torch.Tensor) -> torch.Tensor:
    """``jpeg_quality_scaling``: quality 1..100 → percentage scale factor (integer tensor)."""
    q = quality.to(torch.int64).clamp(1, 100)
    return torch.where(q < 50, torch.div(5000, q, rounding_mode="floor"), 200 - 2 * q)


def scaled_table(base: torch.Tensor, scale: torch.Tensor, force_baseline: bool = True) -> torch.Tensor:
    """``jpeg_add_quant_table``: ``(base * scale + 50) // 100`` clamped to 1..255 (baseline) or 1..32767.

    Args:
        base: (64,) or (8, 8) integer base table.
        scale: (B,) integer scale factors in percent.

    Returns:
        (B, 8, 8) int64 tables.
    """
    base = base.reshape(1, 8, 8).to(torch.int64)
    t = torch.div(base * scale.reshape(-1, 1, 1) + 50, 100, rounding_mode="floor")
    return t.clamp(1, 255 if force_baseline else 32767)


def quality_tables(quality: torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
    """Standard IJG tables for each quality: (B, 2, 8, 8) int64, index 0 luminance, 1 chrominance."""
    scale = quality_scaling(quality.to(device))
    lum = torch.tensor(STD_LUMINANCE, device=scale.device)
    chrom = torch.tensor(STD_CHROMINANCE, device=scale.device)
    return torch.stack([scaled_table(lum, scale), scaled_table(chrom, scale)], dim=1)


# JFIF RGB → YCbCr (CCIR 601) as floats; the simulator's exact path uses libjpeg's fixed-point form of the same matrix.
RGB_TO_YCBCR = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))

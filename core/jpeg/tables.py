"""IJG (libjpeg) quantization tables and quality scaling, and the format's limits that every encoder shares.

The numbers and integer arithmetic follow libjpeg-turbo's ``jcparam.c`` exactly, so the simulator and every encoder
backend that uses the standard tables agree on the quantizer.
"""

from __future__ import annotations

import numpy as np

MAX_SIDE = 65500  # libjpeg's JPEG_MAX_DIMENSION (jpegli's and mozjpeg's too): pixels per side

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


def quality_scaling(quality: np.ndarray) -> np.ndarray:
    """``jpeg_quality_scaling``: qualities 1..100 → percentage scale factors (int64)."""
    q = np.clip(np.asarray(quality, np.int64), 1, 100)
    return np.where(q < 50, 5000 // q, 200 - 2 * q)


def scaled_table(base, scale: np.ndarray, force_baseline: bool = True) -> np.ndarray:
    """``jpeg_add_quant_table``: ``(base * scale + 50) // 100`` clamped to 1..255 (baseline) or 1..32767.

    Args:
        base: (64,) or (8, 8) integer base table.
        scale: (B,) integer scale factors in percent.

    Returns:
        (B, 8, 8) int64 tables.
    """
    t = (np.asarray(base, np.int64).reshape(1, 8, 8) * np.asarray(scale, np.int64).reshape(-1, 1, 1) + 50) // 100
    return np.clip(t, 1, 255 if force_baseline else 32767)


def ijg_tables(quality) -> np.ndarray:
    """Standard IJG tables for each quality (an int or a sequence of them): (B, 2, 8, 8) int64, index 0 luminance,
    1 chrominance; what Pillow's encoder writes.

    Example:
        >>> ijg_tables(50)[0, 0, 0, :3]
        array([16, 11, 10])
    """
    scale = quality_scaling(np.atleast_1d(quality))
    return np.stack([scaled_table(STD_LUMINANCE, scale), scaled_table(STD_CHROMINANCE, scale)], axis=1)


# JFIF RGB → YCbCr (CCIR 601) as floats; the simulator's exact path uses libjpeg's fixed-point form of the same matrix.
RGB_TO_YCBCR = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))

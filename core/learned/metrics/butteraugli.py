"""butteraugli, scored by libjxl's reference binary ``butteraugli_main`` (Debian/Ubuntu package ``libjxl-devtools``).

A judge only: it has no gradient here, and nothing in rdjpeg trains on it or on anything fitted to it. Images are
passed to the binary as 8-bit PPM/PGM (read as sRGB, 80-nit display, its defaults); it reports the max-norm and, with
``--pnorm 3``, the 3-norm that codec comparisons quote. Lower is better; 0 means identical.

The binary is found on ``PATH``, or at ``$RDJPEG_BUTTERAUGLI``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile

import torch
from PIL import Image
from torch import Tensor

from ...images import tensor_to_pixels
from ..checks import check_images

BINARY_ENV = "RDJPEG_BUTTERAUGLI"
MIN_SIDE = 8  # below 8×8 the binary scores any pair 0
TIMEOUT_S = 600  # a 100-megapixel pair takes about 2 minutes on 2 cores


def butteraugli_binary() -> str:
    """The path of ``butteraugli_main``; FileNotFoundError naming the package when it is missing."""
    name = os.environ.get(BINARY_ENV) or "butteraugli_main"
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"butteraugli needs libjxl's reference binary {name!r}, which was not found: install the Debian/Ubuntu "
            f"package libjxl-devtools (apt-get install libjxl-devtools), or set {BINARY_ENV} to the binary"
        )
    return found


@functools.lru_cache(maxsize=4)  # the two norms of a pair are asked for one after the other
def _run(binary: str, reference: bytes, distorted: bytes, shape: tuple[int, ...]) -> tuple[float, float]:
    """(max-norm, 3-norm) of one pair of uint8 images given as bytes; cached so both norms cost one run."""
    mode = "L" if len(shape) == 2 else "RGB"
    with tempfile.TemporaryDirectory(prefix="rdjpeg-butteraugli-") as folder:
        paths = []
        for name, data in (("reference", reference), ("distorted", distorted)):
            path = os.path.join(folder, f"{name}.{'pgm' if mode == 'L' else 'ppm'}")
            Image.frombytes(mode, (shape[1], shape[0]), data).save(path)
            paths.append(path)
        done = subprocess.run([binary, *paths, "--pnorm", "3"], capture_output=True, text=True, timeout=TIMEOUT_S)
    lines = done.stdout.split()
    try:
        max_norm, p_norm = float(lines[0]), float(lines[lines.index("3-norm:") + 1])
    except (IndexError, ValueError):
        raise RuntimeError(f"{binary} failed (exit {done.returncode}): {done.stderr.strip()[-300:]}") from None
    return max_norm, p_norm


def butteraugli(x: Tensor, y: Tensor) -> Tensor:
    """butteraugli distances of ``y`` (distorted) from ``x`` (reference): (max-norm, 3-norm) per image.

    Images are rounded to 8 bits, as a decoder would give them.

    Args:
        x: reference images in [0, 1], sRGB.
        y: distorted images, same shape.

    Returns:
        float64 tensor, column 0 the max-norm, column 1 the 3-norm.

    Shape:
        - x, y: (B, C, H, W) with C = 1 or 3, H and W ≥ 8.
        - Output: (B, 2).

    Example:
        >>> x = torch.rand(1, 3, 32, 32)
        >>> butteraugli(x, x).tolist()  # doctest: +SKIP
        [[0.0, 0.0]]
    """
    check_images(x, y, MIN_SIDE, "butteraugli")
    binary = butteraugli_binary()
    rows = []
    for a, b in zip(x, y, strict=True):
        pa, pb = tensor_to_pixels(a[None]), tensor_to_pixels(b[None])
        rows.append(_run(binary, pa.tobytes(), pb.tobytes(), pa.shape))
    return torch.tensor(rows, dtype=torch.float64)

"""Chroma fitted to the decoder's upsampling (a "sharp YUV" for JPEG), judged on jpegli's real files: does it beat
plain jpegli on SSIMULACRA2 and butteraugli? (issue 17; training images only)

A 4:2:0 encoder stores each 2×2 cell's mean Cb and Cr; Pillow's decoder upsamples them with libjpeg's triangle
filter. The mean is not the best value to store: the chroma that, once upsampled, comes closest to the original's is
sharper. Since the encoder only sees the cell means, the edit sets every pixel of a cell to the fitted chroma (Y
fitted too, so that RGB comes closest), and the encoder then stores it. Fitted by gradient descent on the RGB error
of a linear model of the decoder (triangle upsampling, JFIF colour), before quantization.

    .venv/bin/python benchmarks/chroma_fit.py
"""

from __future__ import annotations

import argparse
import glob
import os

import kornia
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from rdjpeg.images import decode_jpeg, image_to_tensor, tensor_to_pixels
from rdjpeg.plugins import get_backend, get_metric
from rdjpeg.report import bd_rate

QUALITIES = (30, 45, 60, 75, 90)


def upsample(c: torch.Tensor) -> torch.Tensor:
    """libjpeg's h2v2 triangle ("fancy") upsampling of (B, C, h, w) as a linear map (no integer rounding)."""
    p = F.pad(c, (1, 1, 1, 1), mode="replicate")
    rows = torch.stack([0.75 * p[:, :, 1:-1] + 0.25 * p[:, :, :-2], 0.75 * p[:, :, 1:-1] + 0.25 * p[:, :, 2:]], 3)
    rows = rows.flatten(2, 3)  # (B, C, 2h, w + 2)
    cols = torch.stack([0.75 * rows[..., 1:-1] + 0.25 * rows[..., :-2], 0.75 * rows[..., 1:-1] + 0.25 * rows[..., 2:]],
                       -1)  # fmt: skip
    return cols.flatten(-2)


def fit_chroma(x: torch.Tensor, steps: int = 80, luma: bool = True) -> torch.Tensor:
    """The edited image (B, 3, H, W), H and W even: Y per pixel and Cb/Cr per 2×2 cell fitted so that the decoder's
    reconstruction comes closest to ``x`` in RGB."""
    ycc = kornia.color.rgb_to_ycbcr(x)
    y = ycc[:, :1].clone().requires_grad_(luma)
    c = F.avg_pool2d(ycc[:, 1:], 2).clone().requires_grad_()
    opt = torch.optim.Adam([y, c] if luma else [c], lr=2e-3)
    for _ in range(steps):
        rgb = kornia.color.ycbcr_to_rgb(torch.cat([y, upsample(c)], 1))
        loss = (rgb - x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        cells = F.interpolate(c, scale_factor=2, mode="nearest")
        return kornia.color.ycbcr_to_rgb(torch.cat([y, cells], 1)).clamp(0, 1)


def curve(jpegli, judges, x: torch.Tensor, pixels: np.ndarray):
    bpp, scores = [], []
    for q in QUALITIES:
        data = jpegli.write(pixels, q, optimize=True)
        y = image_to_tensor(decode_jpeg(data, False))
        bpp.append(8 * len(data) / (pixels.shape[0] * pixels.shape[1]))
        with torch.inference_mode():
            scores.append([m.bd_value(float(m.score(x, y)[0])) for m in judges])
    return bpp, np.asarray(scores)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("RDJPEG_SHARED", "../shared"))
    parser.add_argument("--luma", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--steps", type=int, default=80)
    args = parser.parse_args(argv)
    root = f"{args.shared}/data/train"
    paths = sorted(glob.glob(f"{root}/bsd200/*.png"))[3::25] + sorted(glob.glob(f"{root}/urban100/*.png"))[3::25]
    jpegli = get_backend("jpegli")
    names = ("ssimulacra2", "butteraugli", "psnr")
    judges = [get_metric(n) for n in names]
    rows = []
    for path in paths:
        a = np.asarray(Image.open(path).convert("RGB"))
        a = np.ascontiguousarray(a[: a.shape[0] // 2 * 2, : a.shape[1] // 2 * 2])
        x = image_to_tensor(a)
        edited = tensor_to_pixels(fit_chroma(x, args.steps, args.luma))
        base, mine = curve(jpegli, judges, x, a), curve(jpegli, judges, x, edited)
        rows.append([bd_rate(base[0], base[1][:, i], mine[0], mine[1][:, i]) for i in range(len(names))])
        print(os.path.basename(path), " ".join(f"{n} {v:+.2f}%" for n, v in zip(names, rows[-1], strict=True)),
              flush=True)  # fmt: skip
    mean = np.nanmean(np.asarray(rows), 0)
    summary = " ".join(f"{n} {v:+.2f}%" for n, v in zip(names, mean, strict=True))
    print("mean per-image BD-rate against jpegli:", summary)


if __name__ == "__main__":
    main()

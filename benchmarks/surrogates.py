"""Which rounding surrogate lets gradient descent lower the *real* JPEG rate-distortion cost?

Per-image pixel optimization, the same for every variant except the distortion path:

    minimize  D(x, sim(x'))  +  λ · R̃(x')        over x' (starting at x), Adam (lr in 8-bit levels)

* D: MSE in 8-bit units² through the simulator with the variant's surrogate, its gradient taken at the real decoded
  image ("ste", "cubic", "noise", "mask") or at the surrogate's smooth reconstruction ("…-proxy", i.e.
  ``JPEGSimulation.distortion``); "identity" leaves the codec out of D: D(x, x'), the baseline DESIGN.md reports as
  working; "ste-proxy" is the same through the simulator's float pipeline).  "mask-proxy@W" sets the mask width.
* R̃: the ρ-domain proxy w·Σ log2(1 + |c/q|) in bits per pixel on the simulator's unrounded scaled coefficients,
  w calibrated per image on the real file size of the unedited image.  Identical for every variant.
* λ: the slope −ΔMSE/Δbpp of the image's real RD curve between quality q−5 and q+5 (Pillow, 4:2:0).

Every few steps the iterate is encoded by the real encoder (Pillow, 4:2:0, default Huffman tables) and decoded;
the score is the real cost J = MSE + λ·bpp of the best iterate, relative to the unedited image (0 % = no gain).

Usage:
    python benchmarks/surrogates.py --images "$RDJPEG_KODAK/kodim0[1-6].png" --json surrogates.json
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

from rdjpeg.learned import simulator
from rdjpeg.learned.simulator import simulate_jpeg

VARIANTS = [
    "identity",
    "ste",
    "cubic",
    "noise",
    "mask",
    "ste-proxy",
    "cubic-proxy",
    "mask-proxy",
    "mask-proxy@0.1",
    "mask-proxy@0.2",
]


def real_cost(x: torch.Tensor, ref: np.ndarray, quality: int) -> tuple[float, float]:
    """(MSE in 8-bit units², bpp) of the real Pillow encode→decode of x (1, 3, H, W) against ref (H, W, 3)."""
    a = (x[0] * 255).round().clamp(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=quality, subsampling=2)
    dec = np.asarray(Image.open(buf)).astype(np.float64)
    return float(np.mean((dec - ref) ** 2)), 8 * buf.tell() / (a.shape[0] * a.shape[1])


def rho_bits(sim) -> torch.Tensor:
    return sum(torch.log2(1 + u.abs()).sum() for u in sim.scaled)


def optimize(x: torch.Tensor, ref: np.ndarray, q: int, variant: str, steps: int, every: int, lr: float) -> dict:
    pixels = x.shape[-1] * x.shape[-2]
    mse0, bpp0 = real_cost(x, ref, q)
    lo, hi = real_cost(x, ref, max(q - 5, 1)), real_cost(x, ref, min(q + 5, 100))
    lam = (lo[0] - hi[0]) / (hi[1] - lo[1])
    with torch.no_grad():
        w = bpp0 * pixels / rho_bits(simulate_jpeg(x, q)).item()
    j0 = mse0 + lam * bpp0
    xp = x.clone().requires_grad_()
    opt = torch.optim.Adam([xp], lr=lr / 255)
    target = x * 255
    best = (j0, mse0, bpp0, 0)
    for step in range(1, steps + 1):
        rounding = "ste" if variant == "identity" else variant.split("@")[0].removesuffix("-proxy")
        sim = simulate_jpeg(xp.clamp(0, 1), q, "4:2:0", rounding)
        if variant == "identity":
            d = (xp.clamp(0, 1) * 255 - target).square().mean()
        elif "-proxy" in variant:
            d = sim.distortion(lambda a, b: (a * 255 - b * 255).square().mean(), x)
        else:
            d = (sim.decoded * 255 - target).square().mean()
        loss = d + lam * w * rho_bits(sim) / pixels
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % every == 0:
            with torch.no_grad():
                mse, bpp = real_cost(xp.clamp(0, 1), ref, q)
            if mse + lam * bpp < best[0]:
                best = (mse + lam * bpp, mse, bpp, step)
    return {
        "gain": best[0] / j0 - 1,
        "dbpp": best[2] / bpp0 - 1,
        "dpsnr": 10 * np.log10(mse0 / best[1]),
        "step": best[3],
        "lambda": lam,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True)
    parser.add_argument("--qualities", default="20,50,80")
    parser.add_argument("--crop", type=int, default=256, help="centre crop size (speed)")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--lr", type=float, default=0.5, help="Adam step in 8-bit levels")
    parser.add_argument("--every", type=int, default=5, help="score with the real codec every N steps")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    paths = sorted(glob.glob(args.images))
    variants = args.variants.split(",")
    default_width = simulator.MASK_WIDTH
    results: dict[str, list[dict]] = {v: [] for v in variants}
    start = time.perf_counter()
    for path in paths:
        img = Image.open(path).convert("RGB")
        left, top = (img.width - args.crop) // 2, (img.height - args.crop) // 2
        ref = np.asarray(img.crop((left, top, left + args.crop, top + args.crop)))
        x = torch.from_numpy(ref.copy()).permute(2, 0, 1)[None].double() / 255
        for q in map(int, args.qualities.split(",")):
            for v in variants:
                simulator.MASK_WIDTH = float(v.split("@")[1]) if "@" in v else default_width
                r = optimize(x, ref.astype(np.float64), q, v, args.steps, args.every, args.lr)
                results[v].append({"image": os.path.basename(path), "quality": q, **r})
                print(
                    f"{os.path.basename(path)} q{q} {v:8s} ΔJ {100 * r['gain']:+.2f} % "
                    f"Δbpp {100 * r['dbpp']:+.2f} % ΔPSNR {r['dpsnr']:+.3f} dB @ {r['step']}",
                    file=sys.stderr,
                )
    print("| variant | mean ΔJ (real) | mean Δbpp | mean ΔPSNR (dB) | runs improved |\n|---|---|---|---|---|")
    for v, rows in results.items():
        print(
            f"| {v} | {100 * np.mean([r['gain'] for r in rows]):+.2f} % | "
            f"{100 * np.mean([r['dbpp'] for r in rows]):+.2f} % | {np.mean([r['dpsnr'] for r in rows]):+.3f} | "
            f"{sum(r['gain'] < 0 for r in rows)}/{len(rows)} |"
        )
    print(
        f"\n{len(paths)} images, {args.crop}² centre crops, qualities {args.qualities}, {args.steps} steps, "
        f"{time.perf_counter() - start:.0f} s"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where should RD optimization take the distortion's gradient: at the surrogate's proxy or at the real decode?

Per-image optimization of x′ (Adam, 2 levels per step, 60 steps, from x) on D(x, JPEG(x′)) + λ(x)·R̂(x′), once
with ``sim.distortion(metric, x, at="proxy")`` and once with ``at="decoded"``, everything else equal. Every 10
steps the iterate is encoded and decoded for real (Pillow, 4:2:0); the score is the best real cost D + λ·bpp
relative to the unedited image (1.000 = no gain; the best is never worse than the start).

Usage:
    python benchmarks/gradient_point.py --metric lpips
"""

from __future__ import annotations

import argparse
import io
import os

import numpy as np
import torch
from PIL import Image

from rdjpeg.images import image_to_tensor, tensor_to_pixels
from rdjpeg.learned.models.lagrangian import estimate_lambda
from rdjpeg.learned.models.rate import estimate_bits
from rdjpeg.learned.simulator import simulate_jpeg
from rdjpeg.registry import get_metric


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metric", default="lpips")
    parser.add_argument("--images", nargs="+", default=["kodim05", "kodim23"])
    parser.add_argument("--qualities", nargs="+", type=int, default=[30, 70])
    parser.add_argument("--crop", type=int, default=256, help="side of the crop, from (128, 128)")
    parser.add_argument("--steps", type=int, default=60, help="Adam steps (the real codec scores every 10th)")
    parser.add_argument("--shared", default=os.environ.get("RDJPEG_SHARED", "../shared"))
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    m = get_metric(args.metric)

    def real(x, xp, q):
        buf = io.BytesIO()
        Image.fromarray(tensor_to_pixels(xp)).save(buf, "JPEG", quality=q)
        with torch.no_grad():
            d = m.loss(x, image_to_tensor(np.asarray(Image.open(buf)))).item()
        return d, 8 * buf.tell() / (x.shape[-1] * x.shape[-2])

    print(f"| image ({args.crop}² crop) | quality | {args.metric}: gradient at proxy | at decoded |")
    print("|---|---|---|---|")
    for name in args.images:
        path = os.path.join(args.shared, "data", "kodak", f"{name}.png")
        window = slice(128, 128 + args.crop)
        x = image_to_tensor(np.asarray(Image.open(path).convert("RGB")))[..., window, window]
        for q in args.qualities:
            lam = estimate_lambda(x, q, args.metric).item()
            d0, r0 = real(x, x, q)
            start, ratios = d0 + lam * r0, []
            for at in ("proxy", "decoded"):
                xp = x.clone().requires_grad_()
                optimizer, best = torch.optim.Adam([xp], lr=2 / 255), start
                for step in range(args.steps):
                    sim = simulate_jpeg(xp.clamp(0, 1), q)
                    loss = sim.distortion(m.loss, x, at).sum() + lam * estimate_bits(sim).sum() / x[0, 0].numel()
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    if (step + 1) % 10 == 0:
                        d, r = real(x, xp.detach().clamp(0, 1), q)
                        best = min(best, d + lam * r)
                ratios.append(best / start)
            print(f"| {name} | {q} | {ratios[0]:.3f} | {ratios[1]:.3f} |", flush=True)


if __name__ == "__main__":
    main()

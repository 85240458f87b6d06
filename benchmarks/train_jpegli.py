"""Train a prefilter for jpegli on a perceptual loss (issue 17, items 1 and 2): ``rdjpeg train prefilter`` with
``encoder="jpegli"``, on one of the candidate losses, validated on jpegli's real files in the loss's own metric and in
the two judges (SSIMULACRA2 and butteraugli); the checkpoint kept is the one whose worst BD-rate of the three is
lowest.

Candidate losses (``--loss``):
* ``ssimulacra2``: the differentiable SSIMULACRA2 alone;
* ``ssimulacra2-mse``: SSIMULACRA2 plus a colour/fidelity term, ``--mse-weight`` × the RGB MSE (the LPIPS network's
  colour blotches are what such a term should stop);
* ``msssim``: MS-SSIM, the loss of the shipped Pillow network, for comparison;
* ``ssimulacra2-mse-worst``: ``ssimulacra2-mse`` plus ``--worst-weight`` × a worst-region term, the 6-norm over 8×8
  windows (stride 4) of the local RGB RMS error: butteraugli pools its error map with a 3-norm and a max, and
  the networks trained on the other losses made butteraugli worse.

    .venv/bin/python benchmarks/train_jpegli.py --loss ssimulacra2-mse --out runs/jpegli-s2mse --minutes 30
"""

from __future__ import annotations

import argparse
import os

import torch

from rdjpeg.hookspecs import hookimpl
from rdjpeg.metrics import Metric, ssimulacra2
from rdjpeg.plugins import plugin_manager
from rdjpeg.train.prefilter import PrefilterConfig, train_prefilter


class SSIMULACRA2MSE(Metric):
    """1 − SSIMULACRA2/100 + w·MSE (RGB, [0, 1]); lower is better; gradient at the real decode, like SSIMULACRA2."""

    name, higher_is_better = "ssimulacra2-mse", False
    gradient_at = "decoded"
    weight = 200.0

    def loss(self, x, y):
        return ssimulacra2.ssimulacra2_loss(x, y) + self.weight * (x - y.clamp(0, 1)).square().mean((1, 2, 3))

    def score(self, x, y):
        return self.loss(x, y)


class SSIMULACRA2MSEWorst(SSIMULACRA2MSE):
    """:class:`SSIMULACRA2MSE` + w·(mean of the 8×8 windows' RMS error to the 6th power)^(1/6)."""

    name = "ssimulacra2-mse-worst"
    worst_weight = 4.0

    def loss(self, x, y):
        local = torch.nn.functional.avg_pool2d((x - y.clamp(0, 1)).square().mean(1, keepdim=True), 8, stride=4)
        worst = (local + 1e-12).sqrt().pow(6).mean((1, 2, 3)).pow(1 / 6)
        return super().loss(x, y) + self.worst_weight * worst


class _Plugin:
    @hookimpl
    def rdjpeg_register_metrics(self, register) -> None:
        register(SSIMULACRA2MSE())
        register(SSIMULACRA2MSEWorst())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=os.environ.get("RDJPEG_SHARED", "../shared"))
    parser.add_argument("--loss", choices=("ssimulacra2", "ssimulacra2-mse", "msssim", "ssimulacra2-mse-worst"),
                        required=True)  # fmt: skip
    parser.add_argument("--mse-weight", type=float, default=SSIMULACRA2MSE.weight)
    parser.add_argument("--worst-weight", type=float, default=SSIMULACRA2MSEWorst.worst_weight)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--val-every", type=int, default=250)
    parser.add_argument("--lambda-scale", type=float, default=1.0)
    parser.add_argument("--init")
    parser.add_argument("--rate-weights", help="default: core/weights/rate-jpegli.safetensors")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float)
    args = parser.parse_args(argv)
    SSIMULACRA2MSE.weight, SSIMULACRA2MSEWorst.worst_weight = args.mse_weight, args.worst_weight
    if plugin_manager().get_plugin("train-jpegli") is None:
        plugin_manager().register(_Plugin(), name="train-jpegli")
    judges = tuple(j for j in ("ssimulacra2", "butteraugli") if j != args.loss)
    cfg = PrefilterConfig(
        metric=args.loss, steps=args.steps, batch=args.batch, crop=args.crop, lr=args.lr, channels=args.channels,
        blocks=args.blocks, quality_min=25, quality_max=95, val_every=args.val_every, val_images=6, val_crop=320,
        val_qualities=(30, 45, 60, 75, 90), seed=args.seed, init=args.init, encoder="jpegli", val_judges=judges,
        lambda_scale=args.lambda_scale, rate_weights=args.rate_weights,
    )  # fmt: skip
    data = [f"{args.shared}/data/train/bsd200", f"{args.shared}/data/train/urban100"]
    train_prefilter(data, args.out, cfg, minutes=args.minutes)


if __name__ == "__main__":
    main()

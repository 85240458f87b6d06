"""Train the rate network on real file sizes: ``rdjpeg train rate``.

The targets are Pillow's files with default and with optimized Huffman tables; the inputs, the simulator's
libjpeg levels of the same crops.

With ``prefilters``, a share of the crops is first edited by those prefilter weights (at a random strength of their
edits) before the real encoder measures them. Why: a prefilter trained through R̂ learns whatever R̂ underrates
(BENCHMARKS.md, "A truer rate model and a larger λ"); teaching R̂ the edited images too takes that reward away, and
the next prefilter trains on real savings only.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image

from ...images import tensor_to_pixels
from ...jpeg.backends import pillow_jpeg_bytes
from ...jpeg.tables import PILLOW_SUBSAMPLING
from ..models.prefilter import Prefilter, load_prefilter
from ..models.rate import HEADS, RateEstimator, _load_rate
from ..simulator import simulate
from ..weights_io import save_safetensors
from .data import ImagePool
from .harness import Run, warmup_cosine

MODES = (("4:2:0", 0.45), ("4:4:4", 0.25), ("4:2:2", 0.1), ("gray", 0.2))
SIDES = (16, 24, 32, 48, 64, 96, 128, 160, 192, 256)
EDIT_STRENGTHS = (0.5, 1.5)  # edits of the prefilters are scaled by a uniform draw from this range


def real_bits(pixels: np.ndarray, quality: int, subsampling: str) -> tuple[int, int]:
    """Bits of Pillow's file with default and with optimized Huffman tables."""
    image = Image.fromarray(pixels)
    options = {} if pixels.ndim == 2 else {"subsampling": PILLOW_SUBSAMPLING[subsampling]}
    default, optimized = (pillow_jpeg_bytes(image, quality=quality, optimize=o, **options) for o in (False, True))
    return 8 * len(default), 8 * len(optimized)


def coefficients(x, quality, subsampling: str) -> list:
    """The simulator's quantized coefficients of a batch as libjpeg writes them (no gradient)."""
    with torch.no_grad():
        return simulate(x, quality, subsampling, decode=False).coefficients


def _edited(rng: np.random.Generator, crop: np.ndarray, quality: int, prefilters: list[Prefilter]) -> np.ndarray:
    """The crop after a random one of ``prefilters`` at quality ``quality``, its edit scaled by a random strength."""
    net = prefilters[rng.integers(len(prefilters))]
    x = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255
    with torch.inference_mode():
        edit = net(x, torch.tensor([quality])) - x
    return tensor_to_pixels(x + float(rng.uniform(*EDIT_STRENGTHS)) * edit)


def sample_batch(rng: np.random.Generator, images: list[np.ndarray], batch: int, side: int | None = None,
                 prefilters: list[Prefilter] = (), edited: float = 0.0):  # fmt: skip
    """(x (B, C, H, W) in [0, 1], quality (B,), subsampling, target bits (B, 2)) for a random configuration; each
    crop is prefiltered (:func:`_edited`) with probability ``edited``."""
    mode = rng.choice([m for m, _ in MODES], p=[p for _, p in MODES])
    side = side or int(rng.choice(SIDES))
    h, w = side + int(rng.integers(0, 8)), side + int(rng.integers(0, 8))  # exercise partial blocks and MCUs
    quality = np.clip(np.round(rng.uniform(-5, 105, batch)), 1, 100).astype(int)
    crops = [ImagePool.crop(rng, images, h, w) for _ in range(batch)]
    if prefilters and edited:
        crops = [_edited(rng, c, int(q), prefilters) if rng.random() < edited else c
                 for c, q in zip(crops, quality, strict=True)]  # fmt: skip
    if mode == "gray":
        crops = [np.asarray(Image.fromarray(c).convert("L")) for c in crops]
    subsampling = "4:2:0" if mode == "gray" else mode
    targets = torch.tensor([real_bits(c, int(q), subsampling) for c, q in zip(crops, quality, strict=True)])
    x = torch.from_numpy(np.stack(crops)).float().div(255)
    x = x[:, None] if mode == "gray" else x.permute(0, 3, 1, 2)
    return x, torch.from_numpy(quality), subsampling, targets.double()


def relative_errors(model: RateEstimator, batches: list) -> np.ndarray:
    """|predicted / real − 1| for every sample and head: (N, 2)."""
    errors = []
    with torch.inference_mode():
        for x, q, subsampling, target in batches:
            pred = model(coefficients(x, q, subsampling)).double()
            errors.append((pred / target - 1).abs().numpy())
    return np.concatenate(errors)


def _validation_batches(pool: ImagePool, nets: list[Prefilter], count: int) -> list:
    """``count`` fixed batches of held-back images, and as many again edited by ``nets`` if there are any."""
    rng = np.random.default_rng(12345)
    batches = [sample_batch(rng, pool.val, 8) for _ in range(count)]
    return batches + [sample_batch(rng, pool.val, 8, prefilters=nets, edited=1.0)
                      for _ in range(count if nets else 0)]  # fmt: skip


def train_rate(
    data: list[str],
    out: str,
    steps: int = 3000,
    batch: int = 16,
    lr: float = 3e-3,
    hidden: int = 64,
    seed: int = 0,
    val_every: int = 250,
    val_batches: int = 24,
    minutes: float | None = None,
    init: str | None = None,
    prefilters: list[str] = (),
    edited: float = 0.5,
    log=print,
) -> RateEstimator:
    """Train (or resume) the rate network; writes ``out/checkpoint.pt``, ``out/rate.safetensors``, ``out/log.jsonl``.

    ``init``: start from these rate weights (fine-tuning). ``prefilters``: prefilter weights whose edits a share
    ``edited`` of the training crops gets (module docstring); the validation then holds as many edited batches as
    unedited ones, and the kept weights are those with the best mean error over both.
    """
    if not 0 <= edited <= 1:
        raise ValueError(f"edited must be a share in [0, 1], got {edited}")
    pool = ImagePool(data)
    nets = [load_prefilter(p).eval() for p in prefilters]
    validation = _validation_batches(pool, nets, val_batches)
    model = _load_rate(init).train().requires_grad_(True) if init else RateEstimator(hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    run = Run(out, model, optimizer, warmup_cosine(optimizer, steps), steps, val_every, minutes=minutes, log=log)
    run.resume()
    rng = np.random.default_rng(seed + run.step)

    def step() -> float:
        x, q, subsampling, target = sample_batch(rng, pool.train, batch, prefilters=nets, edited=edited)
        loss = (model(coefficients(x, q, subsampling)).double().log() - target.log()).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        run.schedule.step()
        return loss.item()

    def validate() -> tuple[dict, float]:
        err = relative_errors(model.eval(), validation)
        model.train()
        record = {f"val_rel_err_{h}": float(err[:, i].mean()) for i, h in enumerate(HEADS)}
        if nets:  # the unedited half first, then the edited half
            half = len(err) // 2
            record |= {
                f"val_rel_err_{h}_{part}": float(err[rows, i].mean())
                for i, h in enumerate(HEADS)
                for part, rows in (("unedited", slice(None, half)), ("edited", slice(half, None)))
            }
        return record, float(err.mean())

    run.train(step, validate, lambda: save_safetensors(model.state_dict(), os.path.join(out, "rate.safetensors")))
    return model

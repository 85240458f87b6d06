"""Train the prefilter on the RD cost through the simulator: ``rdjpeg train prefilter``.

One step, for a batch of random crops x, each at its own random quality q:

    cost(x′)  = D(x, JPEG(x′)) + λ(x, q) · R̂(x′) / pixels        (D via ``sim.distortion``: real value, mask gradient)
    loss      = mean over the batch of log(cost(P(x, q)) / cost(x))    (cost(x): the unedited crop, no gradient)

The ratio to the unedited crop's cost gives every quality and every image the same weight: the loss is the relative
RD-cost change, which is what BD-rate rewards. The log keeps a few crops where an edit costs many times the unedited
crop's (nearly flat crops, whose cost is tiny) from dominating the batch. Without masking it starts at exactly 0,
because P starts as the identity.

Validation runs the REAL encoder and decoder: BD-rate of Pillow(P(x)) against Pillow(x), same settings, on held-back
training images, in the metric the model is trained for. The best checkpoint by that number is kept. With
``val_judges`` the judges' BD-rates are measured too, and the checkpoint kept is the one whose worst BD-rate over the
metric and the judges is lowest: no judge is traded for another.


Runs on CPU or GPU; under ``torchrun --nproc-per-node N`` it trains with DistributedDataParallel (gloo on CPU, NCCL
on GPU), each rank drawing its own crops; rank 0 validates and writes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from torch import Tensor

from ...files import write_atomically
from ...images import roundtrip, tensor_to_pixels
from ...jpeg.backends import pillow_jpeg_bytes
from ...jpeg.tables import PILLOW_SUBSAMPLING
from ...plan import default_masking
from ...registry import get_metric
from ...validate import check_choice, check_int, check_quality, subsampling_name
from ..models.lagrangian import estimate_lambda, measure_lambda, predict_lambda
from ..models.masking import apply_masking
from ..models.prefilter import Prefilter, load_prefilter, save_prefilter
from ..models.rate import estimate_bits, rate_estimator, rho_proxy
from ..report import bd_rate, bjontegaard_module
from ..simulator import ROUNDINGS as SIMULATOR_ROUNDINGS
from ..simulator import simulate, simulate_jpeg
from .data import ImagePool
from .harness import Run, distributed, end_distributed, warmup_cosine

LAMBDAS = ("exact", "fast", "fixed")
RATES = ("network", "rho")
ROUNDINGS = tuple(r for r in SIMULATOR_ROUNDINGS if r != "noise")  # noise changes the forward pass: not the codec
CALIBRATION_QUALITIES = tuple(range(5, 100, 5))
NEW_PARAMETER_LR = 10


@dataclass
class PrefilterConfig:
    """Everything that defines a training run (saved as ``config.json`` beside the weights)."""

    metric: str = "mse"
    steps: int = 4000  # 0 (with init): no training, only the validation of init and the strength calibration
    batch: int = 8
    crop: int = 128
    lr: float = 1e-3
    channels: int = 48
    blocks: int = 4
    luma_mlp: int = 0  # hidden units of the per-coefficient pathways (Prefilter); 0: none
    chroma_mlp: int = 0
    quality_min: int = 5
    quality_max: int = 95
    subsampling: str = "4:2:0"
    lambda_mode: str = "exact"  # λ(x) from real encodes; "fast": closed form; "fixed": one λ per quality (ablation)
    lambda_scale: float = 1.0  # train at k·λ(x): k > 1 trades more distortion for rate than the real RD slope says
    rate: str = "network"  # "rho": the ρ-domain proxy instead of the rate network (ablation)
    rounding: str = "mask"  # "ste" / "cubic": other quantizer surrogates (ablation)
    masking: bool | None = None  # train in front of adaptive DCT-domain masking; None: as encode() does (mse only)
    val_every: int = 250
    val_images: int = 6
    val_crop: int = 320
    val_qualities: tuple[int, ...] = (20, 35, 50, 65, 80)
    seed: int = 0
    init: str | None = None  # start from these weights (a save_prefilter file): fine-tuning
    strengths: tuple[float, ...] = ()  # after training, scale the best model's edits by the best of these (real BD)
    rate_weights: str | None = None  # the rate network's weights (default: the shipped ones)
    val_judges: tuple[str, ...] = ()  # also validate in these metrics; keep the checkpoint with the best worst score

    def check(self) -> None:
        """Validate every field (TypeError / ValueError), and settle ``masking`` (None: as encode() does)."""
        if self.masking is None:
            self.masking = default_masking(self.metric, {})
        check_choice("lambda_mode", self.lambda_mode, LAMBDAS)
        check_choice("rate", self.rate, RATES)
        check_choice("rounding", self.rounding, ROUNDINGS)
        for judge in self.val_judges:
            get_metric(judge)
        self.subsampling = subsampling_name(self.subsampling)
        check_quality(self.quality_min, "quality_min")
        if check_quality(self.quality_max, "quality_max") < self.quality_min:
            raise ValueError(f"qualities must satisfy min ≤ max, got {self.quality_min}..{self.quality_max}")
        for q in self.val_qualities:
            check_quality(q, "val_qualities")
        for name in ("luma_mlp", "chroma_mlp"):
            check_int(name, getattr(self, name), 0)
        for name in ("steps", "batch", "crop", "channels", "blocks", "val_every", "val_images", "val_crop"):
            check_int(name, getattr(self, name), 0 if name == "steps" and self.init else 1)
        if getattr(get_metric(self.metric), "judge_only", False):
            raise ValueError(f"metric {self.metric!r} is a judge only: nothing is trained on it")
        if not (math.isfinite(self.lambda_scale) and self.lambda_scale > 0):
            raise ValueError(f"lambda_scale must be a positive number, got {self.lambda_scale}")
        if not all(math.isfinite(s) and s > 0 for s in self.strengths):
            raise ValueError(f"strengths must be positive numbers, got {list(self.strengths)}")
        if self.init is not None and not os.path.isfile(self.init):
            raise ValueError(f"init weights not found: {self.init!r}")


def _interpolate(table: dict[int, float], quality: Tensor) -> Tensor:
    """Piecewise-linear in log space over the calibration qualities."""
    qs = torch.tensor(sorted(table), dtype=torch.float64)
    values = torch.tensor([math.log(table[int(q)]) for q in qs], dtype=torch.float64)
    q = quality.double().clamp(qs[0], qs[-1])
    i = torch.searchsorted(qs, q, right=True).clamp(1, len(qs) - 1)
    t = (q - qs[i - 1]) / (qs[i] - qs[i - 1])
    return (values[i - 1] + t * (values[i] - values[i - 1])).exp()


def calibrate(cfg: PrefilterConfig, images: list[np.ndarray], crops: int = 16) -> dict[str, dict[int, float]]:
    """Per-quality constants for the ablations: the median λ (fixed-λ) and bits per ρ unit (ρ-proxy rate)."""
    rng = np.random.default_rng(cfg.seed + 999)
    x = torch.from_numpy(np.stack([ImagePool.crop(rng, images, cfg.crop, cfg.crop) for _ in range(crops)]))
    x = x.permute(0, 3, 1, 2).float().div(255)
    lam, rho = {}, {}
    for q in CALIBRATION_QUALITIES:
        lam[q] = float(estimate_lambda(x, q, cfg.metric, cfg.subsampling).median().clamp_min(1e-9))
        with torch.no_grad():
            proxy = rho_proxy(simulate_jpeg(x, q, cfg.subsampling, decode=False))
        bits = [8 * len(pillow_jpeg_bytes(Image.fromarray(tensor_to_pixels(c[None])), quality=q)) for c in x]
        rho[q] = float(np.median(np.asarray(bits) / proxy.numpy()))
    return {"lambda": lam, "bits_per_rho": rho}


class RDLoss:
    """The relative RD cost of a prefiltered batch (see the module docstring)."""

    def __init__(self, cfg: PrefilterConfig, calibration: dict | None = None) -> None:
        self.cfg, self.calibration = cfg, calibration
        self.metric = get_metric(cfg.metric)
        self.rate_weights = cfg.rate_weights

    def lagrangian(self, x: Tensor, q: Tensor) -> Tensor:
        if self.cfg.lambda_mode == "fixed":
            lam = _interpolate(self.calibration["lambda"], q)
        elif self.cfg.lambda_mode == "fast":
            lam = predict_lambda(x, q, self.cfg.metric, self.cfg.subsampling)
        else:
            lam = measure_lambda(x.cpu(), q.cpu(), self.cfg.metric, self.cfg.subsampling)
        return self.cfg.lambda_scale * lam.to(x)

    def cost(self, x: Tensor, xp: Tensor, q: Tensor, lam: Tensor) -> Tensor:
        rate = rate_estimator(path=self.rate_weights, device=x.device)
        sim = simulate(xp, q, self.cfg.subsampling, rounding=self.cfg.rounding)
        if self.cfg.rate == "rho":
            bits = _interpolate(self.calibration["bits_per_rho"], q).to(x) * rho_proxy(sim)
        else:
            bits = estimate_bits(sim, model=rate)
        d = sim.distortion(self.metric.loss, x, getattr(self.metric, "gradient_at", "proxy"))
        return d + lam * bits / (x.shape[-1] * x.shape[-2])

    def edit(self, model, x: Tensor, q: Tensor) -> Tensor:
        """What the encoder receives: P(x), then the masking (gradients pass it straight through)."""
        y = model(x, q)
        if not self.cfg.masking:
            return y
        masked = apply_masking(y.detach(), q, self.cfg.subsampling)
        return y + (masked - y).detach()

    def __call__(self, model, x: Tensor, q: Tensor) -> Tensor:
        lam = self.lagrangian(x, q)
        with torch.no_grad():
            base = self.cost(x, x, q, lam)
        keep = base > 1e-9  # a flat crop JPEG reproduces exactly has nothing to trade: leave it out
        x, q = x[keep], q[keep]
        return (self.cost(x, self.edit(model, x, q), q, lam[keep]) / base[keep]).log().mean()


def validation_set(pool: ImagePool, cfg: PrefilterConfig) -> list[Tensor]:
    """Center crops of held-back training images, evenly spread over the held-back list (both datasets)."""
    step = max(1, len(pool.val) // cfg.val_images)
    crops = []
    for a in pool.val[::step][: cfg.val_images]:
        h, w = min(cfg.val_crop, a.shape[0]), min(cfg.val_crop, a.shape[1])
        top, left = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
        crops.append(torch.from_numpy(a[top : top + h, left : left + w].copy()).permute(2, 0, 1)[None].float() / 255)
    return crops


def real_bd_rates(edit, images: list[Tensor], qualities, metrics: list[str], subsampling: str = "4:2:0",
                  device="cpu") -> list[float]:  # fmt: skip
    """Mean per-image BD-rates (%) of Pillow(edit(x, q)) against Pillow(x) with ``subsampling``, real encoder and
    decoder, one per metric of ``metrics``."""
    judges = [get_metric(m) for m in metrics]

    def write(pixels: np.ndarray, q: int) -> bytes:
        return pillow_jpeg_bytes(Image.fromarray(pixels), quality=q, subsampling=PILLOW_SUBSAMPLING[subsampling])

    values = []
    for x in images:
        curves = []
        for edited in (False, True):
            bpp, scores = [], []
            for q in qualities:
                with torch.no_grad():
                    xp = edit(x.to(device), torch.tensor([q], device=device)).cpu() if edited else x
                _, decoded, rate = roundtrip(write, tensor_to_pixels(xp), q)
                with torch.inference_mode():
                    scores.append([m.bd_value(float(m.score(x, decoded)[0])) for m in judges])
                bpp.append(rate)
            curves.append((bpp, np.asarray(scores)))
        values.append([bd_rate(curves[0][0], curves[0][1][:, i], curves[1][0], curves[1][1][:, i])
                       for i in range(len(judges))])  # fmt: skip
    out = []
    for column in zip(*values, strict=True):
        finite = [v for v in column if math.isfinite(v)]
        out.append(float(np.mean(finite)) if finite else math.nan)
    return out


def validation_score(edit, validation: list[Tensor], cfg: PrefilterConfig, device="cpu") -> tuple[dict, float]:
    """(log record, score to minimize) of ``edit`` on the validation crops: the BD-rate in the trained metric, and
    with ``cfg.val_judges`` the judges' too, the score then being the worst of them."""
    metrics = [cfg.metric, *cfg.val_judges]
    bds = real_bd_rates(edit, validation, cfg.val_qualities, metrics, cfg.subsampling, device)
    record = {"val_bd_rate": bds[0]} | {f"val_bd_rate_{m}": bd for m, bd in zip(cfg.val_judges, bds[1:], strict=True)}
    return record, max(bds)


def calibrate_strength(path: str, validation: list[Tensor], cfg: PrefilterConfig, best: float) -> dict | None:
    """Scale the edits of the weights at ``path`` by the strength in ``cfg.strengths`` with the best real BD-rate on
    the validation images, and rewrite them (``strength`` in the metadata) if that beats ``best``, their own score.

    Why: the simulator's rate and distortion are surrogates, and a network trained through them can edit more timidly
    (or boldly) than the real encoder rewards. One scale of its edits, chosen by the real encoder like the checkpoint
    itself, corrects that at no cost at inference: it is folded into the tail's weights (:meth:`Prefilter.scale_edits`).

    Returns:
        A log record: each strength's BD-rate, the strength kept (1 if none beat ``best``) and its BD-rate; None if
        the weights were calibrated already (a finished run, run again).
    """
    with safe_open(path, "pt") as f:
        if "strength" in (f.metadata() or {}):
            return None
    scores, models = {1.0: best}, {}
    for strength in cfg.strengths:
        models[strength] = load_prefilter(path)
        models[strength].scale_edits(strength)
        with torch.inference_mode():
            scores[strength] = validation_score(models[strength], validation, cfg)[1]
    kept = min(scores, key=scores.get)
    if kept != 1.0:
        save_prefilter(models[kept], path, metric=cfg.metric, strength=str(kept))
    return {"strengths": {str(k): v for k, v in scores.items()}, "strength": kept, "val_bd_rate": scores[kept]}


def _as_json(cfg: PrefilterConfig) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def _sample(rng: np.random.Generator, images: list[np.ndarray], cfg: PrefilterConfig, device) -> tuple[Tensor, Tensor]:
    crops = np.stack([ImagePool.crop(rng, images, cfg.crop, cfg.crop) for _ in range(cfg.batch)])
    x = torch.from_numpy(crops).to(device).permute(0, 3, 1, 2).float().div(255)
    q = torch.from_numpy(rng.integers(cfg.quality_min, cfg.quality_max + 1, cfg.batch)).to(device)
    return x.contiguous(memory_format=torch.channels_last), q


def _start_from(model: Prefilter, cfg: PrefilterConfig) -> list[str]:
    """Load ``cfg.init`` into ``model``; returns the names of the parameters it lacked.

    Weights without a per-coefficient pathway may start a run that has one: a pathway starts at zero output, so the
    model is still exactly ``cfg.init``.
    """
    start = load_prefilter(cfg.init)
    if (start.channels, start.n_blocks) != (cfg.channels, cfg.blocks):
        raise ValueError(f"{cfg.init} is a {start.channels} × {start.n_blocks} prefilter; the run is configured for "
                         f"{cfg.channels} × {cfg.blocks} (set --channels/--blocks)")  # fmt: skip
    for name in ("luma_mlp", "chroma_mlp"):
        if getattr(start, name) not in (0, getattr(cfg, name)):
            raise ValueError(f"{cfg.init} has a {name} pathway of {getattr(start, name)} units; the run is configured "
                             f"for {getattr(cfg, name)} (set --{name.replace('_', '-')})")  # fmt: skip
    return model.load_state_dict(start.state_dict(), strict=False).missing_keys


def train_prefilter(data: list[str], out: str, cfg: PrefilterConfig, minutes: float | None = None, log=print):
    """Train (or resume) a prefilter; writes ``out/{checkpoint.pt, prefilter.safetensors, log.jsonl, config.json}``.

    Returns the trained model (on rank 0 the best-validated weights are in ``prefilter.safetensors``, their edits
    scaled by the calibrated strength when ``cfg.strengths`` is set: :func:`calibrate_strength`).
    """
    cfg.check()
    bjontegaard_module()  # validation scores in BD-rate: the optional extra must be there before any training
    rank, world, device = distributed()
    pool = ImagePool(data)
    calibration = None
    if cfg.lambda_mode == "fixed" or cfg.rate == "rho":
        calibration = calibrate(cfg, pool.train)  # deterministic: identical on every rank
    loss_fn = RDLoss(cfg, calibration)
    validation = validation_set(pool, cfg) if rank == 0 else []
    model = Prefilter(cfg.channels, cfg.blocks, luma_mlp=cfg.luma_mlp, chroma_mlp=cfg.chroma_mlp)
    model = model.to(device).to(memory_format=torch.channels_last)
    optimizer = _optimizer(model, cfg)
    run = Run(out, model, optimizer, warmup_cosine(optimizer, cfg.steps), cfg.steps, cfg.val_every, _as_json(cfg),
              minutes, rank, world, log)  # fmt: skip
    weights = os.path.join(out, "prefilter.safetensors")

    def validate() -> tuple[dict, float]:
        model.eval()
        record, score = validation_score(partial(loss_fn.edit, model), validation, cfg, device)
        model.train()
        return record, score

    if not run.resume(device) and rank == 0:
        write_atomically(
            os.path.join(out, "config.json"),
            json.dumps({"config": _as_json(cfg), "data": data, "world_size": world}, indent=1).encode(),
        )
        if cfg.init:  # the starting point is the score to beat: fine-tuning never ships something worse
            run.best = validate()[1]
            save_prefilter(model, weights, metric=cfg.metric)
            run.record({"step": 0, "val_bd_rate": run.best, "init": cfg.init})
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    rng = np.random.default_rng([cfg.seed, rank, run.step])

    def step() -> float:
        x, q = _sample(rng, pool.train, cfg, device)
        loss = loss_fn(net, x, q)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        run.schedule.step()
        return loss.item()

    run.train(step, validate, lambda: save_prefilter(model, weights, metric=cfg.metric))
    if rank == 0 and cfg.strengths and run.finished:
        record = calibrate_strength(weights, validation, cfg, run.best)
        if record:
            run.record(record)
    if world > 1:
        del net  # free DDP's reducer (it holds gloo work objects) while the process group is still alive
        end_distributed()
    return model


def _optimizer(model: Prefilter, cfg: PrefilterConfig) -> torch.optim.Adam:
    """Adam over the model, started from ``cfg.init`` if set. Parameters the init weights lacked start from scratch
    at 10× the fine-tuning rate, or they would barely move."""
    new = _start_from(model, cfg) if cfg.init else []
    groups = [
        {"params": [p for n, p in model.named_parameters() if n not in new], "lr": cfg.lr},
        {"params": [p for n, p in model.named_parameters() if n in new], "lr": cfg.lr * NEW_PARAMETER_LR},
    ]
    return torch.optim.Adam([g for g in groups if g["params"]])

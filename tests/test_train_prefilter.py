import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rdjpeg.cli import main
from rdjpeg.learned.models.prefilter import load_prefilter
from rdjpeg.learned.train.data import ImagePool
from rdjpeg.learned.train.prefilter import PrefilterConfig, RDLoss, train_prefilter

TINY = {"masking": False, "steps": 40, "batch": 4, "crop": 48, "lr": 2e-3, "channels": 8, "blocks": 1, "val_every": 20,
        "val_images": 2, "val_crop": 64, "val_qualities": (30, 60, 90)}  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    rng = np.random.default_rng(0)
    for i in range(12):
        base = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
        smooth = np.asarray(Image.fromarray(base).resize((96, 80), Image.BICUBIC)).astype(int)
        noisy = np.clip(smooth + rng.normal(0, 6, smooth.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(root / f"t{i:02d}.png")
    return str(root)


def fixed_batch_loss(model, cfg, data) -> float:
    pool = ImagePool([data])
    rng = np.random.default_rng(7)
    x = torch.from_numpy(np.stack([ImagePool.crop(rng, pool.train, 48, 48) for _ in range(8)]))
    x = x.permute(0, 3, 1, 2).float() / 255
    q = torch.tensor([20, 30, 40, 50, 60, 70, 80, 90])
    with torch.no_grad():
        return RDLoss(cfg)(model, x, q).item()


def test_tiny_training_lowers_the_loss_and_resumes(data, tmp_path):
    cfg = PrefilterConfig(**TINY)
    out = tmp_path / "run"
    logs = []
    model = train_prefilter([data], str(out), cfg, log=logs.append)
    assert fixed_batch_loss(model, cfg, data) < -0.005  # the identity scores exactly 0 (log of the cost ratio)
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [20, 40] and all(np.isfinite(r["val_bd_rate"]) for r in records)
    best = load_prefilter(str(out / "prefilter.safetensors"))
    assert best.channels == 8 and best.n_blocks == 1
    # resuming a finished run does nothing; a longer run continues from the checkpoint
    more = PrefilterConfig(**{**TINY, "steps": 40})
    train_prefilter([data], str(out), more, log=logs.append)
    assert "resumed at step 40" in logs
    with pytest.raises(ValueError, match="different configuration"):
        train_prefilter([data], str(out), PrefilterConfig(**{**TINY, "lr": 1e-3}), log=logs.append)


def test_stops_after_minutes_and_resumes(data, tmp_path):
    cfg = PrefilterConfig(**{**TINY, "steps": 1000, "val_every": 5})
    logs = []
    train_prefilter([data], str(tmp_path), cfg, minutes=0.0, log=logs.append)
    # one process stops at once, validated and checkpointed (under DDP: at the next validation)
    assert logs[-1] == "stopping after 0.0 minutes at step 1; run again to resume"
    assert logs[0]["step"] == 1 and os.path.isfile(tmp_path / "prefilter.safetensors")
    logs = []
    train_prefilter([data], str(tmp_path), cfg, minutes=0.0, log=logs.append)
    assert logs[0] == "resumed at step 1" and logs[-1].endswith("at step 2; run again to resume")


@pytest.mark.filterwarnings("ignore:Curves do not overlap")  # lr 1 may wreck the model: NaN BD-rate
def test_fine_tuning_starts_from_weights_and_never_ships_worse(data, tmp_path):
    first = PrefilterConfig(**{**TINY, "steps": 20})
    train_prefilter([data], str(tmp_path / "a"), first, log=lambda *_: None)
    start = str(tmp_path / "a" / "prefilter.safetensors")
    logs = []
    tune = PrefilterConfig(**{**TINY, "steps": 4, "val_every": 4, "lr": 1.0, "init": start})  # lr 1: it gets worse
    train_prefilter([data], str(tmp_path / "b"), tune, log=logs.append)
    assert logs[0]["step"] == 0 and logs[0]["init"] == start
    scores = [r["val_bd_rate"] for r in logs if isinstance(r, dict)]
    kept = load_prefilter(str(tmp_path / "b" / "prefilter.safetensors")).state_dict()
    initial = load_prefilter(start).state_dict()
    kept_start = all(torch.equal(v, initial[k]) for k, v in kept.items())
    assert kept_start == (not scores[1] < scores[0])  # the tuned weights replace the start only if they validate better
    with pytest.raises(ValueError, match="8 × 1 prefilter"):
        train_prefilter([data], str(tmp_path / "c"), PrefilterConfig(**{**TINY, "channels": 4, "init": start}))
    # weights without the per-coefficient pathway start a run with one, as exactly the same model
    grown = []
    grow = PrefilterConfig(**{**TINY, "steps": 4, "val_every": 4, "luma_mlp": 2, "init": start})
    train_prefilter([data], str(tmp_path / "d"), grow, log=grown.append)
    assert grown[0]["val_bd_rate"] == logs[0]["val_bd_rate"]
    assert load_prefilter(str(tmp_path / "d" / "prefilter.safetensors")).luma_mlp == 2
    with pytest.raises(ValueError, match="luma_mlp pathway of 2 units"):
        bigger = {**TINY, "luma_mlp": 3, "init": str(tmp_path / "d" / "prefilter.safetensors")}
        train_prefilter([data], str(tmp_path / "e"), PrefilterConfig(**bigger))


def test_strength_calibration_keeps_the_best_real_scale(data, tmp_path):
    from safetensors import safe_open

    cfg = PrefilterConfig(**{**TINY, "steps": 20, "strengths": (0.5, 1.5, 2.5)})
    logs = []
    train_prefilter([data], str(tmp_path), cfg, log=logs.append)
    record = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])
    assert record == logs[-1] and set(record["strengths"]) == {"1.0", "0.5", "1.5", "2.5"}
    scores = {float(k): v for k, v in record["strengths"].items()}
    assert record["strength"] == min(scores, key=scores.get) and record["val_bd_rate"] == min(scores.values())
    with safe_open(str(tmp_path / "prefilter.safetensors"), "pt") as f:
        assert (f.metadata() or {}).get("strength") == (None if record["strength"] == 1.0 else str(record["strength"]))
    # a finished, calibrated run run again calibrates nothing twice
    train_prefilter([data], str(tmp_path), cfg, log=logs.append)
    assert json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1]) == record
    # steps=0 with init: calibrate existing weights without training them
    only = PrefilterConfig(**{**TINY, "steps": 0, "strengths": (0.5,), "init": str(tmp_path / "prefilter.safetensors")})
    train_prefilter([data], str(tmp_path / "again"), only, log=logs.append)
    first, last = (json.loads(line) for line in (tmp_path / "again" / "log.jsonl").read_text().splitlines())
    assert first["step"] == 0 and set(last["strengths"]) == {"1.0", "0.5"}


@pytest.mark.parametrize("option", [{"lambda_mode": "fixed"}, {"rate": "rho"}, {"rounding": "cubic"}])
def test_ablation_variants_run(data, tmp_path, option):
    cfg = PrefilterConfig(**{**TINY, "steps": 4, "val_every": 4, **option})
    train_prefilter([data], str(tmp_path), cfg, log=lambda *_: None)
    assert (tmp_path / "prefilter.safetensors").exists()


def test_lambda_scale_multiplies_the_lagrangian():
    x, q = torch.rand(2, 3, 32, 32), torch.tensor([30, 70])
    base = RDLoss(PrefilterConfig(lambda_mode="fast")).lagrangian(x, q)
    scaled = RDLoss(PrefilterConfig(lambda_mode="fast", lambda_scale=1.5)).lagrangian(x, q)
    torch.testing.assert_close(scaled, 1.5 * base)


@pytest.mark.parametrize("option,match", [
    ({"lambda_mode": "guess"}, "lambda_mode"), ({"rate": "bits"}, "rate"), ({"rounding": "floor"}, "rounding"),
    ({"quality_min": 0}, "quality_min"), ({"quality_min": 50, "quality_max": 40}, "min ≤ max"),
    ({"steps": 0}, "steps"), ({"metric": "vmaf"}, "unknown metric"),
    ({"init": "missing.safetensors"}, "init weights not found"), ({"strengths": (1.2, 0)}, "strengths"),
    ({"lambda_scale": 0.0}, "lambda_scale"),
])  # fmt: skip
def test_bad_configuration(data, tmp_path, option, match):
    with pytest.raises(ValueError, match=match):
        train_prefilter([data], str(tmp_path), PrefilterConfig(**{**TINY, **option}))
    assert not (tmp_path / "checkpoint.pt").exists()


def test_cli(data, tmp_path, capsys):
    args = ["train", "prefilter", "--data", data, "--out", str(tmp_path), "--steps", "4", "--batch", "2", "--crop",
            "32", "--channels", "8", "--blocks", "1", "--val-every", "4", "--val-images", "1"]  # fmt: skip
    assert main(args) == 0
    assert "val_bd_rate" in capsys.readouterr().out
    assert main(["train", "prefilter", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 1


TORCHRUN = Path(sys.executable).with_name("torchrun")


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun not installed beside this Python")
def test_ddp_two_ranks(data, tmp_path):
    cmd = [str(TORCHRUN), "--standalone", "--nproc-per-node", "2", "-m", "rdjpeg", "train", "prefilter", "--data",
           data, "--out", str(tmp_path), "--steps", "6", "--batch", "2", "--crop", "32", "--channels", "8",
           "--blocks", "1", "--val-every", "3", "--val-images", "1"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [3, 6]  # one log, written by rank 0
    assert json.loads((tmp_path / "config.json").read_text())["world_size"] == 2

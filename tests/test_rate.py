import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

import rdjpeg
from rdjpeg import weights
from rdjpeg.learned.models.rate import RATE_WEIGHTS, RateEstimator, estimate_bits, rate_estimator, rho_proxy
from rdjpeg.learned.simulator import simulate_jpeg


def natural(h, w, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    a = np.asarray(Image.fromarray(base).resize((w, h), Image.BICUBIC)).astype(int)
    return np.clip(a + rng.integers(-10, 11, a.shape), 0, 255).astype(np.uint8)


def to_tensor(a):
    return torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255


def real_bits(a, q, optimize=False):
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=q, optimize=optimize)
    return 8 * buf.tell()


def test_shapes_and_gray():
    sim = simulate_jpeg(torch.rand(3, 3, 40, 24), 50)
    assert RateEstimator()(sim.coefficients).shape == (3, 2)
    assert estimate_bits(torch.rand(2, 1, 17, 9), 50).shape == (2,)
    assert rho_proxy(sim).shape == (3,)
    encoder_only = simulate_jpeg(torch.rand(2, 3, 40, 24), 50, decode=False)
    assert encoder_only.decoded is None
    assert estimate_bits(encoder_only).shape == (2,)


def test_shipped_weights_load_without_pickle():
    from safetensors.torch import load_file

    state = load_file(weights.path(RATE_WEIGHTS))
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert sum(v.numel() for v in state.values()) < 500_000  # ≤ 2 MB in float32
    assert not rate_estimator().training


def test_gradients_reach_the_input():
    x = torch.rand(2, 3, 32, 32).mul(0.8).add(0.1).requires_grad_()
    estimate_bits(x, torch.tensor([30, 80])).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_size_grows_with_quality():
    x = to_tensor(natural(64, 64)).expand(5, -1, -1, -1)
    bits = rdjpeg.estimate_bits(x, torch.tensor([10, 30, 50, 70, 90]))
    assert (bits.diff() > 0).all()


@pytest.mark.parametrize("optimize", [False, True])
def test_accuracy_on_generated_images(optimize):
    errors = []
    for seed, q in [(1, 20), (2, 50), (3, 75), (4, 90)]:
        a = natural(96, 128, seed)
        pred = estimate_bits(to_tensor(a), q, optimize=optimize).item()
        errors.append(abs(pred / real_bits(a, q, optimize) - 1))
    assert np.mean(errors) < 0.15, errors


def test_bad_arguments():
    with pytest.raises(TypeError, match="optimize"):
        estimate_bits(torch.rand(1, 3, 8, 8), 50, optimize="yes")
    with pytest.raises(ValueError, match=r"1\.\.100"):
        estimate_bits(torch.rand(1, 3, 8, 8), 0)
    with pytest.raises(ValueError, match="shape"):
        estimate_bits(torch.rand(1, 2, 8, 8), 50)


def test_training_runs_and_resumes(tmp_path):
    from rdjpeg.learned.train.rate import train_rate

    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        Image.fromarray(natural(270, 280, seed=i)).save(data / f"{i}.png")
    out = tmp_path / "run"
    train_rate([str(data)], str(out), steps=4, batch=2, val_every=2, val_batches=1, log=lambda *a: None)
    assert (out / "rate.safetensors").exists() and (out / "checkpoint.pt").exists()
    train_rate([str(data)], str(out), steps=6, batch=2, val_every=2, val_batches=1, log=lambda *a: None)
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]


def test_fine_tuning_on_prefiltered_crops(tmp_path):
    """--init starts from the shipped weights; --prefilters adds edited crops and reports both halves."""
    from rdjpeg.learned.train.rate import train_rate

    msssim = weights.path("prefilter-msssim.safetensors")

    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        Image.fromarray(natural(270, 280, seed=i)).save(data / f"{i}.png")
    out = tmp_path / "run"
    train_rate([str(data)], str(out), steps=2, batch=2, lr=0.0, val_every=2, val_batches=1, log=lambda *a: None,
               init=weights.path(RATE_WEIGHTS), prefilters=[msssim], edited=1.0)  # fmt: skip
    record = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    assert {"val_rel_err_default_edited", "val_rel_err_default_unedited"} <= set(record)
    assert record["val_rel_err_default_unedited"] < 0.1  # lr 0: still the shipped, accurate network
    with pytest.raises(ValueError, match="edited must be a share"):
        train_rate([str(data)], str(tmp_path / "bad"), steps=1, edited=1.5, log=lambda *a: None)

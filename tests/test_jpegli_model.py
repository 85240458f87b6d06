"""The simulator's model of jpegli (rdjpeg.jpeg.jpegli_model): dead zone, tables, rate network, training for it."""

import importlib.resources
import json
import tempfile

import numpy as np
import pytest
import torch
from PIL import Image

from rdjpeg.jpeg import jpegli_model as jpegli
from rdjpeg.jpeg.simulator import simulate
from rdjpeg.models.rate import estimate_bits, rate_estimator, rate_weights_path
from rdjpeg.plugins import get_backend


def sample(h=128, w=192):
    """A crop of the README's sample photo (320 × 213)."""
    path = importlib.resources.files("rdjpeg") / "samples" / "parrots.png"
    return np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB"))[:h, :w])


def to_tensor(a):
    return torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255


def test_dead_zone_table():
    q = torch.tensor([20, 47, 95, 100])
    zone = jpegli.dead_zone(q)
    assert zone.shape == (4, 2, 8, 8) and zone.dtype == torch.float64
    assert torch.all(zone[:, :, 0, 0] == 0.5)  # DC: plain rounding
    assert torch.all((zone >= 0.5) & (zone <= 1.5))
    between = jpegli.dead_zone(torch.tensor([45, 50]))
    assert torch.all((zone[1] - between.min(0).values >= -1e-12) & (zone[1] - between.max(0).values <= 1e-12))
    assert torch.equal(zone[3], zone[2])  # above the last fitted quality the last fit holds


def test_a_half_step_dead_zone_is_rounding():
    x = to_tensor(sample(48, 64))
    q = torch.tensor([50])
    plain = simulate(x, q, "4:2:0")
    zoned = simulate(x, q, "4:2:0", dead_zone=torch.full((1, 2, 8, 8), 0.5, dtype=torch.float64))
    for a, b in zip(plain.coefficients, zoned.coefficients, strict=True):
        assert torch.equal(a, b)
    assert torch.equal(plain.decoded, zoned.decoded)


def test_dead_zone_zeroes_and_closes_the_mask():
    x = to_tensor(sample(48, 64)).requires_grad_()
    q = torch.tensor([60])
    sim = jpegli.simulate_jpegli(x, q)
    zone = jpegli.dead_zone(q)
    for ci, (k, u) in enumerate(zip(sim.coefficients, sim.scaled, strict=True)):
        inside = u.detach().abs() < zone[:, min(ci, 1), None, None]
        assert torch.all(k.detach()[inside] == 0) and inside.any()
    k = sim.coefficients[0]
    grad = torch.autograd.grad(k.sum(), sim.scaled[0], retain_graph=True)[0]
    u = sim.scaled[0].detach().abs()
    deep = u < zone[:, 0, None, None] - 0.3  # well inside the dead zone: no gradient
    kept = u > zone[:, 0, None, None] + 0.3
    assert grad[deep].abs().max() < 1e-2 and grad[kept].min() > 0.99


def test_model_agrees_with_jpeglis_real_levels():
    """The fitted dead zone reproduces more of jpegli's real AC levels than libjpeg's rounding does."""
    jpeglib = pytest.importorskip("jpeglib", reason="jpeglib (the [dev] extra) reads real DCT coefficients")
    a = sample(208, 320)
    for quality in (40, 85):
        with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
            f.write(get_backend("jpegli").encode(a, quality))
            f.flush()
            real = jpeglib.read_dct(f.name)
        q = torch.tensor([quality])
        assert np.array_equal(jpegli.tables(q)[0].numpy(), np.stack([real.qt[0], real.qt[1]]))
        agree = {}
        for name, zone in (("rounding", None), ("model", jpegli.dead_zone(q))):
            sim = simulate(to_tensor(a), None, "4:2:0", tables=jpegli.tables(q), decode=False, dead_zone=zone)
            same = total = 0
            for k, r in zip(sim.coefficients, (real.Y, real.Cb, real.Cr), strict=True):
                k, r = k[0].numpy().reshape(-1, 64)[:, 1:], np.asarray(r).reshape(-1, 64)[:, 1:]
                same, total = same + (k == r).sum(), total + k.size
            agree[name] = same / total
        assert agree["model"] > agree["rounding"] and agree["model"] > 0.95, (quality, agree)


def test_rate_network_for_jpegli():
    """The jpegli rate network predicts the default backend's optimized files within a few percent."""
    import mozjpeg_lossless_optimization

    model = rate_estimator(path=rate_weights_path("jpegli"))
    errors = []
    for quality, (h, w) in ((35, (128, 192)), (60, (208, 320)), (90, (192, 128))):
        a = sample(h, w)
        real = 8 * len(mozjpeg_lossless_optimization.optimize(get_backend("jpegli").write(a, quality)))
        sim = jpegli.simulate_jpegli(to_tensor(a), torch.tensor([quality]), decode=False)
        errors.append(abs(estimate_bits(sim, optimize=True, model=model).item() / real - 1))
    assert np.mean(errors) < 0.08, errors


def test_training_for_jpegli_runs(tmp_path):
    from rdjpeg.train.prefilter import PrefilterConfig, train_prefilter

    data = tmp_path / "data"
    data.mkdir()
    for i in range(4):
        Image.fromarray(sample(96, 112)[:, i * 4 :]).save(data / f"{i}.png")
    cfg = PrefilterConfig(metric="msssim", encoder="jpegli", steps=2, batch=2, crop=48, channels=8, blocks=1,
                          val_every=2, val_images=1, val_crop=64, val_qualities=(40, 80),
                          val_judges=("psnr",))  # fmt: skip
    train_prefilter([str(data)], str(tmp_path / "run"), cfg, log=lambda *_: None)
    record = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[-1])
    assert np.isfinite(record["val_bd_rate"]) and np.isfinite(record["val_bd_rate_psnr"])


@pytest.mark.parametrize("option", [{"masking": True}, {"lambda_mode": "fast"}, {"subsampling": "4:4:4"}])
def test_training_for_jpegli_refuses_what_it_does_not_model(option):
    from rdjpeg.train.prefilter import PrefilterConfig

    with pytest.raises(ValueError, match="jpegli"):
        PrefilterConfig(metric="msssim", encoder="jpegli", **option).check()


def test_rate_training_for_jpegli_runs(tmp_path):
    from rdjpeg.train.rate import train_rate

    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        Image.fromarray(sample(208, 300)[:, i * 8 :]).save(data / f"{i}.png")
    out = tmp_path / "run"
    train_rate([str(data)], str(out), steps=2, batch=2, val_every=2, val_batches=1, encoder="jpegli",
               init=rate_weights_path("jpegli"), log=lambda *a: None)  # fmt: skip
    record = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    assert record["val_rel_err_optimize"] < 0.5
    with pytest.raises(ValueError, match="encoder"):
        train_rate([str(data)], str(tmp_path / "x"), encoder="mozjpeg")

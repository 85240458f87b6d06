import numpy as np
import pytest
import torch
from PIL import Image

from rdjpeg.learned.models.lagrangian import estimate_lambda


def natural(h, w, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    a = np.asarray(Image.fromarray(base).resize((w, h), Image.BICUBIC)).astype(int)
    a = np.clip(a + rng.integers(-10, 11, a.shape), 0, 255).astype(np.uint8)
    return torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255


@pytest.mark.parametrize("metric", ["mse", "msssim", "lpips"])
def test_lambda_is_positive_and_falls_with_quality(metric):
    x = natural(64, 64).expand(4, -1, -1, -1)
    lam = estimate_lambda(x, torch.tensor([15, 35, 60, 85]), metric)
    assert lam.shape == (4,) and (lam > 0).all()
    assert (lam.diff() < 0).all()


def test_lambda_matches_a_finite_difference_for_mse():
    x = natural(64, 80, seed=3)
    from rdjpeg.learned.models.lagrangian import real_rd_points

    bpp, d = real_rd_points(x[0], [45, 55], "mse")
    slope = (d[0] - d[1]) / (bpp[1] - bpp[0])
    assert estimate_lambda(x, 50, "mse").item() == pytest.approx(slope, rel=0.5)


def test_lambda_grayscale_and_bad_arguments():
    assert estimate_lambda(natural(32, 32).mean(1, keepdim=True), 50).shape == (1,)
    with pytest.raises(ValueError, match="unknown metric"):
        estimate_lambda(natural(16, 16), 50, "vmaf")
    with pytest.raises(ValueError, match=r"1\.\.100"):
        estimate_lambda(natural(16, 16), 101)


@pytest.mark.parametrize("metric", ["mse", "msssim", "lpips"])
def test_fast_lambda_is_positive_and_falls_with_quality(metric):
    from rdjpeg.learned.models.lagrangian import fast_lambda

    lam = fast_lambda(natural(96, 96, seed=5).expand(3, -1, -1, -1), torch.tensor([20, 50, 80]), metric)
    assert (lam > 0).all() and (lam.diff() < 0).all()


@pytest.mark.parametrize("metric", ["mse", "msssim", "lpips"])
def test_fast_lambda_tracks_the_exact_estimate_on_a_photo(metric, shared):
    """On a natural photo λ̂ is within a factor 2.5 of the real slope (6 for LPIPS, whose slope at high quality is the
    noisiest: 4.8× on this crop at q80, against a Kodak mean of 1.35×; BENCHMARKS.md)."""
    from rdjpeg.learned.models.lagrangian import fast_lambda

    paths = sorted((shared / "data" / "train" / "bsd200").glob("*"))
    if not paths:
        pytest.skip("training images not found")
    a = np.asarray(Image.open(paths[0]).convert("RGB"))[:192, :192]
    x = torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float().div(255).expand(3, -1, -1, -1)
    q = torch.tensor([20, 50, 80])
    ratio = fast_lambda(x, q, metric) / estimate_lambda(x, q, metric)
    assert ratio.log().abs().max() < np.log(6 if metric == "lpips" else 2.5), ratio


def test_fast_lambda_unknown_metric():
    from rdjpeg.learned.models.lagrangian import fast_lambda

    with pytest.raises(ValueError, match="no fast"):
        fast_lambda(natural(16, 16), 50, "vmaf")


def test_lambda_follows_the_encoders_own_curve():
    """A flat table spends far more bits at the same quality: its curve is flatter, its λ lower (exact and fast)."""
    from rdjpeg.jpeg.backends import pillow_jpeg_bytes
    from rdjpeg.jpeg.tables import PILLOW_SUBSAMPLING
    from rdjpeg.learned.models.lagrangian import fast_lambda

    x = natural(64, 64, seed=2)
    flat = [[16] * 64] * 2

    def pillow(pixels, q):
        return pillow_jpeg_bytes(Image.fromarray(pixels), quality=q, subsampling=PILLOW_SUBSAMPLING["4:2:0"])

    def flat_pillow(pixels, q):  # the flat table, scaled by quality like the IJG ones
        scale = 5000 // q if q < 50 else 200 - 2 * q
        table = [max(1, min(255, (16 * scale + 50) // 100))] * 64
        return pillow_jpeg_bytes(Image.fromarray(pixels), qtables=[table, table], subsampling=2)

    assert estimate_lambda(x, 50, encode=pillow).item() == estimate_lambda(x, 50).item()
    assert estimate_lambda(x, 50, encode=flat_pillow).item() < 0.7 * estimate_lambda(x, 50).item()
    assert fast_lambda(x, 50, tables=torch.tensor(flat, dtype=torch.float32).view(2, 8, 8)) < 0.7 * fast_lambda(x, 50)

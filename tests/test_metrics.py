import pytest
import torch

from rdjpeg.learned.metrics import LPIPS, MSSSIM, PSNR, load_lpips_state
from rdjpeg.registry import get_metric, metrics
from rdjpeg.scores import PSNR_OF_IDENTICAL


def test_builtin_metrics_are_registered():
    assert {"psnr", "msssim", "lpips"} <= set(metrics())
    assert get_metric("psnr").higher_is_better and get_metric("msssim").higher_is_better
    assert not get_metric("lpips").higher_is_better


def test_psnr_and_its_loss():
    x = torch.rand(2, 3, 16, 16)
    y = (x + 0.01).clamp(0, 1)
    assert torch.allclose(PSNR().loss(x, y), (x - y).square().mean((1, 2, 3)))
    assert PSNR().score(x, x)[0].item() == PSNR_OF_IDENTICAL  # rdjpeg.scores.psnr's rule: finite


@pytest.mark.parametrize("size", [(1, 1), (8, 8), (40, 24), (200, 170)])
def test_msssim_any_size(size):
    x = torch.rand(1, 3, *size)
    assert MSSSIM().score(x, x).item() == pytest.approx(1, abs=1e-5)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    assert 0 < MSSSIM().score(x, y).item() < 1


@pytest.mark.parametrize("metric", [PSNR(), MSSSIM(), LPIPS()])
def test_losses_are_differentiable_and_grayscale_works(metric):
    x = torch.rand(2, 1, 32, 32)
    y = x.clone().add_(0.05 * torch.randn_like(x)).clamp_(0, 1).requires_grad_()
    loss = metric.loss(x, y)
    assert loss.shape == (2,)
    loss.sum().backward()
    assert torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0


def test_lpips_shipped_weights_match_the_float32_original(shared):
    original = shared / "weights" / "lpips_alex_backbone.pt"
    if not original.is_file():
        pytest.skip(f"LPIPS backbone not found at {original}")
    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 64)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    shipped, reference = LPIPS().score(x, y), LPIPS(str(original)).score(x, y)
    assert torch.allclose(shipped, reference, rtol=2e-3)
    assert LPIPS().score(x, x).abs().max() < 1e-6


def test_lpips_missing_weights_file(monkeypatch, tmp_path):
    monkeypatch.setenv("RDJPEG_LPIPS_WEIGHTS", str(tmp_path / "absent.pt"))
    with pytest.raises(FileNotFoundError, match="RDJPEG_LPIPS_WEIGHTS"):
        LPIPS().score(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16))
    with pytest.raises(FileNotFoundError):
        load_lpips_state(str(tmp_path / "absent.safetensors"))


def test_metric_shape_mismatch():
    with pytest.raises(ValueError, match="one shape"):
        PSNR().loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))


def test_lpips_first_used_in_inference_mode_still_differentiates():
    from rdjpeg.learned import weights_io

    weights_io._SHIPPED.clear()
    with torch.inference_mode():
        LPIPS().score(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16))
    y = torch.rand(1, 3, 16, 16, requires_grad=True)
    LPIPS().loss(torch.rand(1, 3, 16, 16), y).sum().backward()
    assert y.grad is not None


@pytest.mark.parametrize("size", [(1, 1), (7, 9), (16, 16), (31, 40)])
def test_lpips_small_images(size):
    x = torch.rand(1, 3, *size)
    assert LPIPS().score(x, x).item() < 1e-6

import pytest
import torch

from rdjpeg.prefilter import Prefilter


def trained_like(seed: int = 0) -> Prefilter:
    """A prefilter whose identity initialization is perturbed, as training would."""
    torch.manual_seed(seed)
    p = Prefilter()
    with torch.no_grad():
        for param in p.parameters():
            param.add_(0.02 * torch.randn_like(param))
    return p.eval()


@pytest.mark.parametrize("size", [(1, 1), (7, 9), (17, 13), (64, 48)])
def test_identity_at_initialization_any_size(size):
    x = torch.rand(2, 3, *size)
    assert torch.equal(Prefilter()(x, torch.tensor([10, 90])), x)


def test_grayscale_and_quality_conditioning():
    p = trained_like()
    x = torch.rand(1, 1, 20, 24)
    assert p(x, 50).shape == (1, 1, 20, 24)
    y = torch.rand(2, 3, 32, 32)
    out = p(torch.cat([y[:1], y[:1]]), torch.tensor([10, 90]))
    assert not torch.allclose(out[0], out[1])  # the quality changes the edit
    assert out.min() >= 0 and out.max() <= 1


def test_tiled_equals_untiled():
    p = trained_like(1)
    x = torch.rand(1, 3, 150, 203)
    with torch.inference_mode():
        whole, tiled = p(x, 60), p.forward_tiled(x, 60, tile=64)
    assert torch.allclose(whole, tiled, atol=1e-5)


def test_mixed_quality_batch_equals_one_image_at_a_time():
    """A batch of several qualities edits unfolded; one quality uses the tail folded with the edit map: same result."""
    p = trained_like(2)
    x = torch.rand(2, 3, 40, 56)
    with torch.inference_mode():
        batch = p(x, torch.tensor([20, 85]))
        single = torch.cat([p(x[:1], 20), p(x[1:], 85)])
    assert torch.allclose(batch, single, atol=1e-5)


def test_gradients_flow():
    p = trained_like()
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    p(x, 50).sum().backward()
    assert torch.isfinite(x.grad).all() and all(q.grad is not None for q in p.parameters())


@pytest.mark.parametrize(("kwargs", "message"), [({"quality": 0}, r"1\.\.100"), ({"tile": 30}, "multiple of 16")])
def test_bad_arguments(kwargs, message):
    p = Prefilter()
    with pytest.raises(ValueError, match=message):
        p.forward_tiled(torch.rand(1, 3, 8, 8), **{"quality": 50, "tile": 64, **kwargs})


def test_scale_edits_scales_the_residual():
    torch.manual_seed(0)
    p = Prefilter(channels=8, blocks=1)
    torch.nn.init.normal_(p.tail.weight, std=1e-3)
    x = torch.rand(1, 3, 40, 48) * 0.5 + 0.25  # away from 0 and 1: the clamp does not act
    with torch.no_grad():
        edit = p(x, 40) - x
        p.scale_edits(1.5)
        torch.testing.assert_close(p(x, 40) - x, 1.5 * edit, atol=1e-6, rtol=1e-4)
    with pytest.raises(ValueError, match="positive"):
        p.scale_edits(0)

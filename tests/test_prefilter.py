import pytest
import torch

from rdjpeg.learned.models.prefilter import Prefilter, load_prefilter, save_prefilter

# without and with the per-coefficient pathways (luma_mlp, chroma_mlp)
PATHWAYS = pytest.mark.parametrize("mlps", [(0, 0), (4, 3)], ids=["tail-only", "per-coefficient"])


def trained_like(seed: int = 0, mlps: tuple[int, int] = (0, 0)) -> Prefilter:
    """A prefilter whose identity initialization is perturbed, as training would."""
    torch.manual_seed(seed)
    p = Prefilter(luma_mlp=mlps[0], chroma_mlp=mlps[1])
    with torch.no_grad():
        for param in p.parameters():
            param.add_(0.02 * torch.randn_like(param))
    return p.eval()


@PATHWAYS
@pytest.mark.parametrize("size", [(1, 1), (7, 9), (17, 13), (64, 48)])
def test_identity_at_initialization_any_size(size, mlps):
    x = torch.rand(2, 3, *size)
    assert torch.equal(Prefilter(luma_mlp=mlps[0], chroma_mlp=mlps[1])(x, torch.tensor([10, 90])), x)


def test_grayscale_and_quality_conditioning():
    p = trained_like()
    x = torch.rand(1, 1, 20, 24)
    assert p(x, 50).shape == (1, 1, 20, 24)
    y = torch.rand(2, 3, 32, 32)
    out = p(torch.cat([y[:1], y[:1]]), torch.tensor([10, 90]))
    assert not torch.allclose(out[0], out[1])  # the quality changes the edit
    assert out.min() >= 0 and out.max() <= 1


@PATHWAYS
def test_tiled_equals_untiled(mlps):
    p = trained_like(1, mlps)
    x = torch.rand(1, 3, 150, 203)
    with torch.inference_mode():
        whole, tiled = p(x, 60), p.forward_tiled(x, 60, tile=64)
        in_place = x.clone()
        p.forward_tiled(in_place, 60, tile=64, out=in_place)
    assert torch.allclose(whole, tiled, atol=1e-5)
    assert torch.equal(in_place, tiled)  # written over its input: the same values


@PATHWAYS
def test_mixed_quality_batch_equals_one_image_at_a_time(mlps):
    """A batch of several qualities edits unfolded; one quality uses the tail folded with the edit map: same result."""
    p = trained_like(2, mlps)
    x = torch.rand(2, 3, 40, 56)
    with torch.inference_mode():
        batch = p(x, torch.tensor([20, 85]))
        single = torch.cat([p(x[:1], 20), p(x[1:], 85)])
    assert torch.allclose(batch, single, atol=1e-5)


@PATHWAYS
def test_gradients_flow(mlps):
    p = trained_like(0, mlps)
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    p(x, 50).sum().backward()
    assert torch.isfinite(x.grad).all() and all(q.grad is not None for q in p.parameters())


@pytest.mark.parametrize(("kwargs", "message"), [({"quality": 0}, r"1\.\.100"), ({"tile": 30}, "multiple of 16")])
def test_bad_arguments(kwargs, message):
    p = Prefilter()
    with pytest.raises(ValueError, match=message):
        p.forward_tiled(torch.rand(1, 3, 8, 8), **{"quality": 50, "tile": 64, **kwargs})


@PATHWAYS
def test_scale_edits_scales_the_residual(mlps):
    torch.manual_seed(0)
    p = Prefilter(channels=8, blocks=1, luma_mlp=mlps[0], chroma_mlp=mlps[1])
    for layer in [p.tail] + [m.out for m in (p.luma_mlps, p.chroma_mlps) if m is not None]:
        torch.nn.init.normal_(layer.weight, std=1e-3)
    x = torch.rand(1, 3, 40, 48) * 0.5 + 0.25  # away from 0 and 1: the clamp does not act
    with torch.no_grad():
        edit = p(x, 40) - x
        p.scale_edits(1.5)
        torch.testing.assert_close(p(x, 40) - x, 1.5 * edit, atol=1e-6, rtol=1e-4)
    with pytest.raises(ValueError, match="positive"):
        p.scale_edits(0)


def test_per_coefficient_pathways_round_trip_and_start_as_the_model_without_them(tmp_path):
    path = str(tmp_path / "p.safetensors")
    save_prefilter(trained_like(3, (4, 3)), path)
    loaded = load_prefilter(path)
    assert (loaded.luma_mlp, loaded.chroma_mlp) == (4, 3)
    without = trained_like(4)
    grown = Prefilter(luma_mlp=4, chroma_mlp=3).eval()
    missing = grown.load_state_dict(without.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith(("luma_mlps.", "chroma_mlps.")) for k in missing)
    x = torch.rand(1, 3, 48, 64)
    with torch.inference_mode():
        assert torch.equal(grown(x, 35), without(x, 35))
    with pytest.raises(ValueError, match="chroma_mlp"):
        Prefilter(chroma_mlp=-1)


def test_chroma_pathway_changes_exactly_the_intended_chroma_coefficient():
    """A chroma output of one step on one Cb coefficient moves that coefficient of the encoder's 2×2-averaged Cb
    block by one quantization step and leaves luma and Cr alone."""
    from rdjpeg.learned.models.prefilter import _linear_maps, quantizer_features

    change = torch.zeros(1, 128, 1, 1, dtype=torch.float64)
    change[0, 9] = 1.0  # Cb coefficient (1, 1), in units of its step (applied below)
    steps = torch.ones(1, 1, dtype=torch.float64)
    x = torch.full((1, 3, 16, 16), 0.5, dtype=torch.float64)
    y = x + torch.nn.functional.pixel_shuffle(torch.nn.functional.conv2d(change * steps, _linear_maps(
        torch.float64, torch.device("cpu"))[4][:, :, None, None]), 16)  # fmt: skip
    q = torch.tensor([100])  # all steps 1: features in coefficient units
    (l0, c0), (l1, c1) = (quantizer_features(torch.nn.functional.pixel_unshuffle(v, 8), q) for v in (x, y))
    delta_luma, delta_chroma = (l1 - l0)[0, :64], (c1 - c0)[0, :128, 0, 0]
    assert delta_luma.abs().max() < 1e-9
    assert abs(delta_chroma[9] - 0.6931) < 1e-3 and delta_chroma.abs().sum() - delta_chroma[9].abs() < 1e-9

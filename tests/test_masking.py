import io

import numpy as np
import pytest
import torch
from PIL import Image

from rdjpeg.images import image_to_tensor, tensor_to_pixels
from rdjpeg.learned.models.lagrangian import estimate_lambda
from rdjpeg.learned.models.masking import AdaptiveMasking, adaptive_masking


def photo(h=64, w=80, seed=0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    a = np.asarray(Image.fromarray(base).resize((w, h), Image.BICUBIC)).astype(int)
    return image_to_tensor(np.clip(a + rng.integers(-8, 9, a.shape), 0, 255).astype(np.uint8))


def real(x: torch.Tensor, edited: torch.Tensor, q: int, subsampling: int = 2) -> tuple[float, float]:
    """(MSE, bpp) of Pillow's file of ``edited`` against ``x``."""
    buf = io.BytesIO()
    Image.fromarray(tensor_to_pixels(edited)).save(buf, "JPEG", quality=q, subsampling=subsampling)
    d = image_to_tensor(np.asarray(Image.open(buf)))
    return (d - x).square().mean().item(), 8 * buf.tell() / (x.shape[-1] * x.shape[-2])


@pytest.mark.parametrize("q", [30, 60, 90])
def test_lowers_the_real_rd_cost(q):
    x = photo()
    lam = estimate_lambda(x, q, "mse").item()
    d0, r0 = real(x, x, q)
    d1, r1 = real(x, adaptive_masking(x, q), q)
    assert r1 < r0 and d1 + lam * r1 < d0 + lam * r0


@pytest.mark.parametrize("subsampling,pillow", [("4:4:4", 0), ("4:2:2", 1), ("4:2:0", 2)])
def test_subsamplings_and_odd_sizes(subsampling, pillow):
    x = photo(37, 53, seed=1)
    y = adaptive_masking(x, 50, subsampling)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    assert real(x, y, 50, pillow)[1] < real(x, x, 50, pillow)[1]


def test_grayscale_batch_and_module():
    x = photo(seed=2).mean(1, keepdim=True)
    y = adaptive_masking(x, 50)
    assert y.shape == x.shape and not torch.equal(x, y)
    batch = torch.cat([photo(seed=3), photo(seed=4)])
    out = AdaptiveMasking()(batch, quality=torch.tensor([30, 80]))
    assert torch.equal(out[1:], adaptive_masking(batch[1:], 80))  # images are independent


def test_identity_cases_and_determinism():
    x = photo(seed=5)
    assert torch.equal(adaptive_masking(x, 50, iterations=0), x)
    assert torch.equal(adaptive_masking(x, 50, lam=torch.zeros(1)), x)  # λ = 0: bits are free, nothing changes
    assert torch.equal(adaptive_masking(x, 50), adaptive_masking(x, 50))
    flat = torch.full((1, 3, 16, 16), 0.5)
    assert torch.equal(adaptive_masking(flat, 50), flat)


def test_inside_inference_mode_and_bad_arguments():
    x = photo(seed=6)
    with torch.inference_mode():
        assert adaptive_masking(x, 50).shape == x.shape
    with pytest.raises(ValueError, match="iterations"):
        adaptive_masking(x, 50, iterations=-1)
    with pytest.raises(ValueError, match="quality"):
        adaptive_masking(x, 0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adaptive_masking(x * 2, 50)


def test_strips_decide_almost_as_the_whole_image():
    """Masking in strips (large images, bounded memory) lands on the whole image's RD point, by the real codec."""
    from rdjpeg.learned.models.masking import apply_masking, mask_in_strips

    base = np.random.default_rng(0).integers(0, 256, (20, 26, 3), dtype=np.uint8)
    a = np.asarray(Image.fromarray(base).resize((200, 160), Image.BICUBIC))
    x = torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255

    def real(y):
        buf = io.BytesIO()
        Image.fromarray(tensor_to_pixels(y)).save(buf, "JPEG", quality=50)
        return buf.tell(), ((np.asarray(Image.open(buf), float) - a) ** 2).mean()

    (plain, _), (whole, mse_whole), (strips, mse_strips) = (
        real(y)
        for y in (
            x,
            apply_masking(x, torch.tensor([50]), "4:2:0"),
            mask_in_strips(x, torch.tensor([50]), "4:2:0", rows=64),
        )
    )
    assert whole < 0.95 * plain and abs(strips / whole - 1) < 0.02 and abs(mse_strips / mse_whole - 1) < 0.02

"""The simulator's forward pass must equal Pillow's libjpeg-turbo encode→decode, bit for bit."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

import rdjpeg
from rdjpeg.jpeg.tables import SUBSAMPLINGS
from rdjpeg.learned.simulator import ROUNDINGS, simulate_jpeg

PILLOW_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


def natural_image(h: int, w: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A smooth random image with noise and hard edges: exercises every coefficient range."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 4 + 2, w // 4 + 2, channels)).astype(np.uint8)
    base = Image.fromarray(base[..., 0] if channels == 1 else base).resize((w, h), Image.BILINEAR)
    a = np.asarray(base).astype(int) + rng.integers(-25, 26, (h, w) if channels == 1 else (h, w, channels))
    return np.clip(a, 0, 255).astype(np.uint8)


def pillow_roundtrip(a: np.ndarray, subsampling: str = "4:2:0", **options) -> tuple[np.ndarray, bytes]:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", subsampling=PILLOW_SUBSAMPLING[subsampling], **options)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue()))), buf.getvalue()


def to_tensor(a: np.ndarray, dtype=torch.float64) -> torch.Tensor:
    t = torch.from_numpy(a.copy())
    t = t[None] if t.dim() == 2 else t.permute(2, 0, 1)
    return t[None].to(dtype) / 255


def to_uint8(y: torch.Tensor) -> np.ndarray:
    a = (y * 255).round().to(torch.uint8).numpy()
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


SIZES = [(1, 1), (2, 2), (7, 9), (17, 13), (16, 16), (9, 33), (40, 24)]


@pytest.mark.parametrize("subsampling", list(SUBSAMPLINGS))
@pytest.mark.parametrize(("h", "w"), SIZES)
def test_exact_against_pillow(h, w, subsampling):
    a = natural_image(h, w, seed=h * 100 + w)
    for q in (1, 5, 20, 50, 75, 90, 95, 100):
        ref, _ = pillow_roundtrip(a, subsampling, quality=q)
        out = to_uint8(rdjpeg.diff_jpeg(to_tensor(a), q, subsampling)[0])
        assert np.array_equal(out, ref), f"{h}x{w} {subsampling} q{q}: max diff {np.abs(out - ref.astype(int)).max()}"


@pytest.mark.parametrize("subsampling", list(SUBSAMPLINGS))
def test_every_quality_in_one_batch(subsampling):
    """Per-sample quality: a batch of 100 copies encoded at qualities 1..100."""
    a = natural_image(21, 19, seed=7)
    x = to_tensor(a, torch.float32).expand(100, -1, -1, -1)
    y = rdjpeg.diff_jpeg(x, torch.arange(1, 101), subsampling)
    for q in range(1, 101):
        ref, _ = pillow_roundtrip(a, subsampling, quality=q)
        assert np.array_equal(to_uint8(y[q - 1]), ref), f"quality {q}"


@pytest.mark.parametrize(("h", "w"), [(1, 1), (7, 9), (30, 17)])
def test_grayscale_exact(h, w):
    a = natural_image(h, w, channels=1, seed=3)
    for q in (1, 30, 75, 100):
        ref, _ = pillow_roundtrip(a, quality=q)
        y = rdjpeg.diff_jpeg(to_tensor(a), q)
        assert y.shape == (1, 1, h, w)
        assert np.array_equal(to_uint8(y[0]), ref)


def test_custom_tables_match_pillow_qtables():
    a = natural_image(24, 40, seed=5)
    rng = np.random.default_rng(0)
    tables = torch.from_numpy(rng.integers(1, 120, (2, 8, 8)))
    ref, _ = pillow_roundtrip(a, "4:2:0", qtables=[t.flatten().tolist() for t in tables])
    out = to_uint8(rdjpeg.diff_jpeg(to_tensor(a), tables=tables)[0])
    assert np.array_equal(out, ref)


@pytest.mark.parametrize("subsampling", list(SUBSAMPLINGS))
def test_coefficients_match_the_real_file(subsampling, tmp_path):
    jpeglib = pytest.importorskip("jpeglib", reason="jpeglib (the [dev] extra) reads real DCT coefficients")
    a = natural_image(37, 45, seed=11)
    for q in (10, 60, 95):
        _, data = pillow_roundtrip(a, subsampling, quality=q)
        path = tmp_path / f"{q}.jpg"
        path.write_bytes(data)
        real = jpeglib.read_dct(str(path))
        sim = simulate_jpeg(to_tensor(a), q, subsampling)
        for mine, theirs in zip(sim.coefficients, (real.Y, real.Cb, real.Cr), strict=True):
            assert np.array_equal(mine[0].numpy().astype(np.int64), theirs.astype(np.int64))
        assert np.array_equal(sim.tables[0, 0].numpy(), real.qt[0])


def test_float32_and_float64_agree():
    a = natural_image(33, 31, seed=2)
    y32 = rdjpeg.diff_jpeg(to_tensor(a, torch.float32), 40)
    y64 = rdjpeg.diff_jpeg(to_tensor(a, torch.float64), 40)
    assert y32.dtype == torch.float32 and y64.dtype == torch.float64
    assert np.array_equal(to_uint8(y32[0]), to_uint8(y64[0]))


def test_simulation_outputs():
    x = torch.rand(2, 3, 20, 36)
    sim = simulate_jpeg(x, torch.tensor([30, 80]), "4:2:0")
    assert [tuple(c.shape) for c in sim.coefficients] == [(2, 3, 5, 8, 8), (2, 2, 3, 8, 8), (2, 2, 3, 8, 8)]
    assert sim.tables.shape == (2, 2, 8, 8) and sim.tables[0, 0, 0, 0] > sim.tables[1, 0, 0, 0]
    assert all(torch.equal(c, c.round()) for c in sim.coefficients)
    assert sim.subsampling == "4:2:0"


def test_single_image_and_module():
    x = torch.rand(3, 17, 13)
    assert rdjpeg.diff_jpeg(x, 50).shape == (3, 17, 13)
    jpeg = rdjpeg.DiffJPEG(subsampling=0, rounding="cubic")
    assert jpeg(x[None], quality=50).shape == (1, 3, 17, 13)
    assert "cubic" in repr(jpeg)


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_gradients_are_finite_and_nonzero(rounding):
    x = (torch.rand(2, 3, 24, 24) * 0.8 + 0.1).requires_grad_()
    sim = simulate_jpeg(x, torch.tensor([20, 85]), rounding=rounding)
    loss = sim.decoded.square().mean() + sum(c.abs().mean() for c in sim.scaled)
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0
    # the quantized coefficients carry gradient too (the rate model consumes them)
    x.grad = None
    sum(c.square().sum() for c in simulate_jpeg(x, 50, rounding=rounding).coefficients).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("rounding", ["ste", "cubic"])
@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
def test_gradcheck_relaxed(rounding, subsampling):
    """The backward pass is the exact derivative of the documented smooth relaxation."""
    torch.manual_seed(0)
    x = (torch.rand(1, 3, 9, 11, dtype=torch.float64) * 0.8 + 0.1).requires_grad_()
    f = lambda t: simulate_jpeg(t, 50, subsampling, rounding, relaxed=True).decoded  # noqa: E731
    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-5)


def test_mask_closes_the_dead_zone():
    u = torch.tensor([0.0, 0.3, 0.45, 0.55, 0.7, 3.0, -3.0], dtype=torch.float64)
    m = rdjpeg.learned.simulator.adaptive_mask(u)
    assert m[0] < 0.01 and m[5] > 0.99 and m[6] > 0.99
    assert m[0] < m[1] < m[2] < 0.5 < m[3] < m[4] < m[5]
    # the masked straight-through estimator: value u, derivative = the mask
    v = u.clone().requires_grad_()
    r = rdjpeg.learned.simulator.relaxed_rounding(v, "mask")
    (grad,) = torch.autograd.grad(r.sum(), v)
    assert torch.equal(r.detach(), u) and torch.allclose(grad, m)


def test_distortion_value_is_real_and_gradient_is_the_proxys():
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    xp = x.clone().requires_grad_()
    sim = simulate_jpeg(xp, 30, rounding="mask")
    mse = lambda a, b: (a - b).square().mean()  # noqa: E731
    d = sim.distortion(mse, x)
    assert torch.allclose(d, mse(x, sim.decoded))
    d.backward()
    assert torch.isfinite(xp.grad).all() and xp.grad.abs().sum() > 0


def test_distortion_gradient_at_the_decode():
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    mse = lambda a, b: (a - b).square().mean()  # noqa: E731
    grads = []
    for at in ("proxy", "decoded"):
        xp = x.clone().requires_grad_()
        sim = simulate_jpeg(xp, 30)
        d = sim.distortion(mse, x, at)
        assert torch.allclose(d, mse(x, sim.decoded))  # same real value either way
        d.backward()
        grads.append(xp.grad)
    assert not torch.allclose(grads[0], grads[1])  # at the decode, the quantization error pulls
    with pytest.raises(ValueError, match="at must be"):
        simulate_jpeg(x, 30).distortion(mse, x, "somewhere")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quality": 0}, "1..100"),
        ({"quality": 101}, "1..100"),
        ({"quality": -1}, "1..100"),
        ({"quality": float("nan")}, "whole numbers"),
        ({"quality": 50.5}, "whole numbers"),
        ({"quality": torch.tensor([10, 20, 30])}, "one value per image"),
        ({"subsampling": "4:1:1"}, "unknown subsampling"),
        ({"subsampling": 3}, "unknown subsampling"),
        ({"rounding": "floor"}, "rounding must be one of"),
        ({"tables": torch.zeros(2, 8, 8)}, "1..32767"),
        ({"tables": torch.ones(3, 8, 8)}, "shape"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rdjpeg.diff_jpeg(torch.rand(2, 3, 8, 8), **{"quality": 50, **kwargs})


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (torch.rand(2, 4, 8, 8), "shape"),
        (torch.rand(8, 8), "shape"),
        (torch.rand(1, 3, 0, 8), "at least 1×1"),
        (torch.rand(1, 3, 8, 8) * 2, r"\[0, 1\]"),
        (torch.full((1, 3, 8, 8), float("nan")), "NaN"),
    ],
)
def test_bad_images(x, message):
    with pytest.raises(ValueError, match=message):
        rdjpeg.diff_jpeg(x, 50)


@pytest.mark.parametrize(
    ("x", "quality", "message"),
    [
        (torch.randint(0, 255, (1, 3, 8, 8), dtype=torch.uint8), 50, "float"),
        (np.zeros((1, 3, 8, 8)), 50, "torch.Tensor"),
        (torch.rand(1, 3, 8, 8), "75", "number or a tensor"),
    ],
)
def test_wrong_types_raise_type_error(x, quality, message):
    with pytest.raises(TypeError, match=message):
        rdjpeg.diff_jpeg(x, quality)

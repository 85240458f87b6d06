import io
import os

import numpy as np
import pytest
import torch
from PIL import Image

import rdjpeg
from rdjpeg.learned.models.lagrangian import estimate_lambda


def photo(h=64, w=80, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    a = np.asarray(Image.fromarray(base).resize((w, h), Image.BICUBIC)).astype(int)
    return np.clip(a + rng.integers(-12, 13, a.shape), 0, 255).astype(np.uint8)


def test_without_prefilter_it_is_the_backend():
    a = photo()
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=60)
    assert rdjpeg.encode(a, 60, backend="pillow") == buf.getvalue()


def metric_cost(a: np.ndarray, data: bytes, quality: int, metric: str) -> float:
    """Real D + λ·bpp in ``metric``'s loss units (λ: the unedited image's real RD slope)."""
    from rdjpeg.registry import get_metric

    x = torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255
    y = torch.from_numpy(np.asarray(Image.open(io.BytesIO(data))).copy()).permute(2, 0, 1)[None].float() / 255
    lam = estimate_lambda(x, quality, metric).item()
    with torch.no_grad():
        d = get_metric(metric).loss(x, y).item()
    return d + lam * 8 * len(data) / (a.shape[0] * a.shape[1])


@pytest.mark.parametrize(("metric", "options"), [("mse", {}), ("mse", {"prefilter": "mse"}), ("msssim", {}),
                                                 ("lpips", {})])  # fmt: skip
def test_shipped_pipelines_beat_plain_jpeg(shared, metric, options):
    """Loose bound, real encoder and decoder: each shipped default lowers its metric's real RD cost on Kodak crops."""
    ratios = []
    for name in ("kodim03.png", "kodim07.png", "kodim23.png"):
        a = np.asarray(Image.open(shared / "data" / "kodak" / name).convert("RGB"))[96:288, 224:416]
        for q in (30, 60, 85):
            plain = rdjpeg.encode(a, q, backend="pillow")
            edited = rdjpeg.encode(a, q, metric=metric, **options)
            ratios.append(metric_cost(a, edited, q, metric) / metric_cost(a, plain, q, metric))
    assert np.mean(ratios) < 1.0, ratios


def test_max_bytes_finds_the_highest_quality_that_fits():
    a = photo(seed=4)
    sizes = {q: len(rdjpeg.encode(a, q)) for q in range(1, 101)}
    budget = sizes[60] + 1
    data = rdjpeg.encode(a, max_bytes=budget)
    assert len(data) <= budget and len(data) == sizes[max(q for q, n in sizes.items() if n <= budget)]
    assert len(rdjpeg.encode(a, 30, max_bytes=budget)) == sizes[30]  # quality caps the search
    with pytest.raises(ValueError, match="no quality fits"):
        rdjpeg.encode(a, max_bytes=10)


def test_prefilter_choices():
    a, mse = photo(seed=5), {"metric": "mse"}
    assert rdjpeg.encode(a, 50, **mse) == rdjpeg.encode(a, 50, prefilter="auto", **mse)
    assert rdjpeg.encode(a, 50, **mse) == rdjpeg.encode(a, 50, prefilter=None, **mse)
    assert rdjpeg.encode(a, 50, prefilter="mse", **mse) != rdjpeg.encode(a, 50, **mse)  # the MSE network, by name
    assert rdjpeg.encode(a, 50, prefilter=rdjpeg.prefilter("mse", pretrained=False), **mse) == rdjpeg.encode(
        a, 50, prefilter=None, **mse
    )
    with pytest.raises(TypeError, match="masking"):
        rdjpeg.encode(a, 50, masking="yes", **mse)
    with pytest.raises(ValueError, match="unknown prefilter model"):
        rdjpeg.encode(a, 50, prefilter="nope", **mse)
    with pytest.raises(TypeError, match="prefilter must be"):
        rdjpeg.encode(a, 50, prefilter=3, **mse)


def test_identical_input_gives_identical_bytes():
    a = photo(seed=2)
    for options in ({"metric": "mse"}, {"metric": "msssim"}, {}):
        assert rdjpeg.encode(a, 40, **options) == rdjpeg.encode(a, 40, **options)


def test_inputs_pil_gray_and_tensor():
    a = photo(seed=3)
    assert rdjpeg.encode(Image.fromarray(a), 50)[:2] == b"\xff\xd8"
    gray = rdjpeg.encode(Image.fromarray(a).convert("L"), 50, metric="mse")
    assert Image.open(io.BytesIO(gray)).mode == "L"
    assert Image.open(io.BytesIO(rdjpeg.encode(Image.fromarray(a).convert("L"), 50))).mode == "L"
    assert rdjpeg.encode(torch.rand(3, 16, 16), 50)[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"effort": 10}, ValueError, "does not accept"),  # per-image refinement was removed: BENCHMARKS.md
        ({"quality": 0}, ValueError, "quality"),
        ({"quality": 50.0}, TypeError, "quality"),
        ({"metric": "vmaf"}, ValueError, "unknown metric"),
        ({"backend": "webp"}, ValueError, "unknown backend"),
        ({"sharpness": 2}, ValueError, "does not accept"),
        ({"metric": "butteraugli"}, ValueError, "judge only"),
        ({"metric": "mse", "masking": True, "qtables": "web_high"}, ValueError, "custom qtables"),
        ({"metric": "mse", "backend": "jpegli", "subsampling": "4:1:0"}, ValueError, "unknown subsampling"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        rdjpeg.encode(photo(), **{"quality": 50, **kwargs})


def test_bad_images():
    """One exception rule: a wrong type is a TypeError, a wrong value (mode, shape) a ValueError."""
    with pytest.raises(ValueError, match="mode"):
        rdjpeg.encode(Image.new("RGBA", (8, 8)), 50)
    with pytest.raises(TypeError, match="uint8"):
        rdjpeg.encode(np.zeros((8, 8, 3), np.float32), 50)
    with pytest.raises(ValueError, match="shape"):
        rdjpeg.encode(np.zeros((8, 8, 4), np.uint8), 50)
    with pytest.raises(TypeError, match="cannot encode"):
        rdjpeg.encode("image.png", 50)
    with pytest.raises(ValueError, match="RGB images only"):
        rdjpeg.encode(np.zeros((8, 8), np.uint8), 50, backend="jpegli")


def test_rdjpeg_codec_in_evaluate(small_images):
    from rdjpeg.learned.evaluate import evaluate

    result = evaluate(small_images, ["pillow", "rdjpeg:metric=mse"], [40, 70], ["psnr"], progress=False)
    assert len(result["records"]) == 2 * 2 * 2


def test_backend_options_reach_masking():
    """mozjpeg's flat table: the masking simulates that table, and the file carries it."""
    a = photo(48, 64)
    data = rdjpeg.encode(a, 50, metric="mse", masking=True, backend="mozjpeg", table="flat")
    assert Image.open(io.BytesIO(data)).quantization[0] == [16] * 64
    with pytest.raises(ValueError, match="table must be one of"):
        rdjpeg.encode(a, 50, backend="mozjpeg", table="sharp")


def test_same_bytes_whatever_the_thread_count(tmp_path):
    """The user's thread setting is kept, and the bytes do not depend on it (fresh interpreters)."""
    import subprocess
    import sys

    np.save(tmp_path / "a.npy", photo(96, 120, seed=9))
    script = (
        "import hashlib, sys, numpy, torch, rdjpeg; a = numpy.load(sys.argv[1]); "
        "print(torch.get_num_threads(), [hashlib.sha256(rdjpeg.encode(a, 50, metric=m)).hexdigest() "
        "for m in ('mse', 'msssim', 'lpips')])"
    )
    runs = []
    for threads in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": threads}
        out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "a.npy")], env=env, capture_output=True,
                             text=True, check=True).stdout.split(" ", 1)  # fmt: skip
        runs.append(out)
    assert [r[0] for r in runs] == ["1", "2"] and runs[0][1] == runs[1][1]


def test_encode_to_size_returns_the_quality_it_chose():
    a = photo(seed=4)
    for options in ({"metric": "mse", "optimize": True}, {}):
        budget = len(rdjpeg.encode(a, 40, **options)) + 1
        data, quality = rdjpeg.encode_to_size(a, budget, **options)
        assert data == rdjpeg.encode(a, max_bytes=budget, **options) == rdjpeg.encode(a, quality, **options)
        assert len(data) <= budget < len(rdjpeg.encode(a, quality + 1, **options))


def test_arguments_after_quality_are_keyword_only():
    with pytest.raises(TypeError):
        rdjpeg.encode(photo(), 50, "mse")


def test_a_tensor_input_is_left_as_it_was():
    """The pipeline works in place on its own copy: the caller's float32 tensor is not edited."""
    x = torch.from_numpy(photo(48, 64, seed=7)).permute(2, 0, 1).float() / 255
    before = x.clone()
    for metric in ("msssim", "mse"):
        rdjpeg.encode(x, 50, metric=metric)
        assert torch.equal(x, before)

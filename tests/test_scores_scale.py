"""SSIMULACRA2 and targets at camera scale (issue 31): bands that add up exactly, float32 that stays near float64,
memory that grows with the pixels alone, images too small for a score, and a photo that runs out of memory."""

import io
import json
import tracemalloc

import numpy as np
import pytest
from PIL import Image

import rdjpeg
from rdjpeg import scores
from rdjpeg.cli import main
from rdjpeg.scores import SSIMULACRA2, scoring_threads


def photo_like(height: int, width: int, gray: bool = False, seed: int = 0) -> np.ndarray:
    """Smooth shapes and some noise: flat regions (where float32 rounding shows) and detail."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (max(1, height // 16), max(1, width // 16), 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(base).resize((width, height), Image.BICUBIC)).astype(int)
    a = np.clip(smooth + rng.integers(-6, 7, smooth.shape), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a[..., 1]) if gray else a


def jpeg(a: np.ndarray, quality: int) -> np.ndarray:
    data = rdjpeg.encode(a, quality, backend="pillow")
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize(("height", "width", "gray"), [(203, 157, False), (90, 301, True), (37, 9, False)])
def test_bands_and_threads_add_up_to_one_band(monkeypatch, height, width, gray):
    """Many small bands on 1 or 3 threads give the score of one band a scale: each band's blurs see their context
    and the sums add up (odd sizes, gray, a scale 4 pixels high)."""
    a = photo_like(height, width, gray)
    b = jpeg(a, 40)
    monkeypatch.setattr(scores, "FLOAT64_FROM", 0)  # no float32 rounding, whose sums depend on the bands
    monkeypatch.setattr(scores, "BAND_PIXELS", 1 << 30)
    whole = SSIMULACRA2(a, threads=1)(b)
    monkeypatch.setattr(scores, "BAND_PIXELS", 1)  # bands of 16 rows (one product of the blur)
    for threads in (1, 3):
        assert SSIMULACRA2(a, threads=threads)(b) == pytest.approx(whole, abs=1e-9)
    assert SSIMULACRA2(a, threads=3)(a) == 100.0


def test_float32_stays_near_float64(monkeypatch, shared):
    """The score (float32 up to 1:2, float64 from 1:4) is within 0.01 of the same computation all in float64, on
    Kodak photos with large flat areas, near the top of the scale where float32 rounding weighs most."""
    measured = []
    for name in ("kodim20", "kodim09"):
        a = np.asarray(Image.open(shared / "data" / "kodak" / f"{name}.png").convert("RGB"))
        measured += [(a, b, SSIMULACRA2(a)(b)) for b in (jpeg(a, 70), jpeg(a, 99))]
    monkeypatch.setattr(scores, "FLOAT64_FROM", 0)
    for a, b, score in measured:
        assert score == pytest.approx(SSIMULACRA2(a)(b), abs=0.01)


def test_memory_grows_with_the_pixels_alone():
    """Beyond the two images, a scoring holds their half-size linear RGB (6 bytes a pixel), the quarter-size one
    made from it, and a band's planes per thread: three times the rows add at most 8 bytes a pixel, a second thread
    one band's working set (here 2000 pixels wide)."""
    peaks = {}
    for height, threads in ((600, 1), (1800, 1), (1800, 2)):
        a = photo_like(height, 2000)
        b = a ^ 1
        tracemalloc.start()
        SSIMULACRA2(a, threads=threads)(b)
        peaks[height, threads] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[1800, 1] - peaks[600, 1] <= 8 * 1200 * 2000, peaks
    assert peaks[1800, 2] - peaks[1800, 1] <= 96e6, peaks


def test_threads_follow_the_users_setting(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert scoring_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert 1 <= scoring_threads() <= len(__import__("os").sched_getaffinity(0))


@pytest.mark.parametrize("shape", [(1, 4000, 3), (1, 1, 3), (7, 7), (4000, 1), (5, 300, 3)])
def test_images_too_small_for_a_score_get_the_predicted_quality_unmeasured(shape):
    a = photo_like(*shape[:2], gray=len(shape) == 2)
    found = rdjpeg.encode_to_target(a, "ssimulacra2:80")
    assert found.score is None and not found.reached and found.scorings == 0 and found.encodes == 1
    with Image.open(io.BytesIO(found.data)) as im:
        assert im.size == (shape[1], shape[0])
    higher = rdjpeg.encode_to_target(a, "ssimulacra2:95")
    assert higher.quality >= found.quality


def test_compress_writes_small_images_unmeasured(tmp_path, capsys):
    Image.fromarray(photo_like(1, 4000)).save(tmp_path / "banner.png")
    Image.fromarray(photo_like(1, 1)).save(tmp_path / "pixel.png")
    Image.fromarray(photo_like(40, 48)).save(tmp_path / "photo.png")
    report = tmp_path / "r.json"
    assert main(["compress", str(tmp_path), "-o", str(tmp_path / "out"), "--target", "ssimulacra2:70", "--jobs", "2",
                 "--report", str(report), "--quiet"]) == 0  # fmt: skip
    rows = {row["source"].rsplit("/", 1)[1]: row for row in json.loads(report.read_text())}
    for name in ("banner.png", "pixel.png"):
        assert rows[name]["status"] == "ok" and rows[name]["score"] is None and rows[name]["reached"] is None
        assert "unmeasured" in rows[name]["message"]
    assert rows["photo.png"]["score"] is not None and rows["photo.png"]["reached"] is not None
    assert (tmp_path / "out" / "pixel.jpg").exists()


def test_a_photo_out_of_memory_fails_alone(monkeypatch, tmp_path, capsys):
    """A MemoryError while scoring one photo is that photo's error line: nothing written for it, the rest written."""
    real = SSIMULACRA2.__call__

    def short_of_memory(self, decoded):
        if decoded.shape[1] == 96:
            raise MemoryError
        return real(self, decoded)

    monkeypatch.setattr(SSIMULACRA2, "__call__", short_of_memory)
    Image.fromarray(photo_like(64, 96)).save(tmp_path / "large.png")
    Image.fromarray(photo_like(64, 80)).save(tmp_path / "small.png")
    assert main(["compress", str(tmp_path), "-o", str(tmp_path / "out"), "--target", "ssimulacra2:70", "--jobs", "2",
                 "--quiet"]) == 1  # fmt: skip
    assert "large.png: not enough memory for this image" in capsys.readouterr().err
    assert not (tmp_path / "out" / "large.jpg").exists() and (tmp_path / "out" / "small.jpg").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["small.jpg"]  # no temporary file left


def test_a_large_photo_calibrates_its_curve_on_a_sample(monkeypatch):
    """From SAMPLE_FROM pixels the predicted curve is first moved through a sample's score (spread tiles on the
    block grid), the search's first guess then at the window's middle by the sample; the search ends as before:
    measured on the whole photo, inside the window (or above it at the distance ceiling's quality)."""
    from rdjpeg import targets
    from rdjpeg.jpeg import backends, jpegli
    from rdjpeg.look import look

    a = photo_like(1100, 1300)
    part = targets.sample(a)
    assert part.shape == (4 * 512, 4 * 512, 3)
    assert np.array_equal(part[:512, -512:], a[:512, 784:1296])  # the last tile's corner: 1300 − 512 on the grid
    curve, target, asked = np.linspace(20, 100, 100), targets.parse_target("ssimulacra2:70"), []
    moved = targets.calibrated(curve, target, lambda q: asked.append(q) or 60.0)
    low, high = targets.window(target)
    assert np.allclose(np.diff(moved), np.diff(curve)) and curve[asked[0] - 1] >= (low + high) / 2
    assert moved[asked[0] - 1] + (low + high) / 2 - targets.aim(target) == pytest.approx(60.0)
    sampled = []
    monkeypatch.setattr(backends, "SAMPLE_FROM", 1_000_000)
    monkeypatch.setattr(backends, "sample", lambda pixels: sampled.append(pixels.shape) or pixels[:512, :512])
    found = rdjpeg.encode_to_target(a, "ssimulacra2:70")
    least = targets.least_quality(look().ssimulacra2(None), target, jpegli.distance)
    assert sampled == [a.shape] and found.reached and found.score >= 70
    assert found.score <= 72 or found.quality == least

"""Targets, the look predictor and JPEG inputs (issue 27): what each promises, on small images."""

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

import rdjpeg
import rdjpeg_plugins  # noqa: F401  registers the format
from rdjpeg.cli import main
from rdjpeg.images import image_to_tensor
from rdjpeg.learned.metrics.ssimulacra2 import ssimulacra2 as torch_ssimulacra2
from rdjpeg.look import FEATURES, features, look
from rdjpeg.scores import SSIMULACRA2, psnr
from rdjpeg.targets import TargetNotReached, parse_target


@pytest.fixture(scope="module")
def crops(shared) -> list[np.ndarray]:
    """Three 192×256 Kodak crops (a check, never a fit)."""
    out = []
    for name in ("kodim05", "kodim14", "kodim23"):
        a = np.asarray(Image.open(shared / "data" / "kodak" / f"{name}.png").convert("RGB"))
        out.append(np.ascontiguousarray(a[100:292, 200:456]))
    return out


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_numpy_ssimulacra2_is_the_torch_port(crops):
    """rdjpeg.scores (what targets measure with) computes what the torch port computes (checked against libjxl's
    binary, BENCHMARKS.md), also for gray and odd sizes."""
    for a in (crops[0], crops[1][:77, :45], np.ascontiguousarray(crops[2][..., 1])):
        for q in (20, 60, 95):
            b = np.asarray(Image.open(io.BytesIO(rdjpeg.encode(a, q, backend="pillow"))))
            with torch.inference_mode():
                expected = float(torch_ssimulacra2(image_to_tensor(a), image_to_tensor(b))[0])
            assert SSIMULACRA2(a)(b) == pytest.approx(expected, abs=0.02)
    assert SSIMULACRA2(crops[0])(crops[0]) == 100.0 and psnr(crops[0], crops[0]) == 100.0
    with pytest.raises(ValueError, match="8×8"):
        SSIMULACRA2(np.zeros((7, 20, 3), np.uint8))
    with pytest.raises(ValueError, match="one shape"):
        SSIMULACRA2(crops[0])(crops[1][:10, :10])


@pytest.mark.parametrize("value", [60, 80])
def test_targets_are_met(crops, value):
    """The file's SSIMULACRA2 is at least the target and, here, inside [target, target + 2] unless it is at the
    distance ceiling's quality, by the torch port too (libjxl's computation; libjxl's own binary, which CI lacks,
    agrees with it within 0.1: BENCHMARKS.md; the ``ssimulacra2`` package mirrors borders where libjxl reads zeros
    and is 10+ points off on crops this small); it took few encodes."""
    from rdjpeg.jpeg import jpegli
    from rdjpeg.targets import least_quality

    target = parse_target(f"ssimulacra2:{value}")
    least = least_quality(look().ssimulacra2(None), target, jpegli.distance)  # 4:2:0, as these crops are written
    for a in crops:
        found = rdjpeg.encode_to_target(a, target)
        top = value + 2 if found.quality > least else 100
        assert found.reached and value <= found.score <= top, found[1:]
        with torch.inference_mode():
            port = float(torch_ssimulacra2(image_to_tensor(a), image_to_tensor(decoded(found.data)))[0])
        assert value <= port <= top and port == pytest.approx(found.score, abs=0.02)
        assert found.encodes == found.scorings <= 4
    psnr_file = rdjpeg.encode_to_target(crops[0], "psnr:38")
    assert psnr_file.reached and psnr(crops[0], decoded(psnr_file.data)) >= 38


def test_same_input_same_bytes(crops):
    for options in ({"target": "ssimulacra2:70"}, {"quality": 60}, {}):
        assert rdjpeg.encode(crops[1], **options) == rdjpeg.encode(crops[1], **options)


def test_an_unreachable_target_gives_the_best_file_and_says_so(crops):
    with pytest.warns(TargetNotReached, match="out of reach"):
        found = rdjpeg.encode_to_target(crops[0], "ssimulacra2:99")
    assert not found.reached and found.quality == 100 and found.score < 99


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"target": "ssimulacra2:101"}, ValueError, "10..99"),
        ({"target": "ssimulacra2:abc"}, ValueError, "metric:value"),
        ({"target": "butteraugli:1.5"}, ValueError, "judge"),
        ({"target": "vmaf:90"}, ValueError, "unknown target metric"),
        ({"target": 80}, TypeError, "string"),
        ({"target": "ssimulacra2:80", "quality": 80}, ValueError, "give one"),
        ({"target": "ssimulacra2:80", "max_bytes": 5000}, ValueError, "give one"),
        ({"target": "ssimulacra2:80", "metric": "mse"}, ValueError, "give one"),
        ({"target": "ssimulacra2:80", "smooth": 10}, ValueError, "default encoder"),
        ({"target": "ssimulacra2:80", "backend": "mozjpeg"}, ValueError, "default encoder"),
    ],
)
def test_bad_targets_are_clear_errors_and_write_nothing(crops, tmp_path, options, error, match):
    with pytest.raises(error, match=match):
        rdjpeg.make_plan(**options)
    buf = io.BytesIO()
    with pytest.raises(error, match=match):
        Image.fromarray(crops[0]).save(buf, "RDJPEG", **options)
    assert buf.getvalue() == b""
    if isinstance(options["target"], str) and len(options) == 1:
        Image.fromarray(crops[0]).save(tmp_path / "in.png")
        assert main(["compress", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.jpg"), "--target",
                     options["target"], "--quiet"]) == 2  # fmt: skip
        assert not (tmp_path / "out.jpg").exists()


def test_a_jpeg_input_never_grows(crops, tmp_path):
    """A camera-like JPEG asked for a look above its own: its lossless optimization is written (smaller than the
    input, pixels and EXIF kept); asked for a lower look: a smaller re-encode. Through the CLI and Pillow."""
    exif = Image.Exif()
    exif[0x010F] = "camera"
    source = tmp_path / "photo.jpg"
    Image.fromarray(crops[2]).save(source, quality=90, exif=exif)
    size = source.stat().st_size
    for extra in (["--target", "ssimulacra2:95"], ["-q", "100"], ["-q", "40"]):
        out = tmp_path / "out.jpg"
        assert main(["compress", str(source), "-o", str(out), "--overwrite", "--quiet", *extra]) == 0
        assert out.stat().st_size <= size
        with Image.open(out) as im:
            assert im.getexif()[0x010F] == "camera"
    with Image.open(source) as im:
        buf = io.BytesIO()
        im.save(buf, "RDJPEG", quality=100)
        assert len(buf.getvalue()) <= size
        assert np.array_equal(decoded(buf.getvalue()), np.asarray(im.convert("RGB")))


def test_compress_prints_and_tables_the_choice(crops, tmp_path, capsys):
    Image.fromarray(crops[0]).save(tmp_path / "a.png")
    Image.fromarray(crops[1]).save(tmp_path / "b.png")
    for report in ("r.csv", "r.json"):
        assert main(["compress", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(tmp_path / "out"),
                     "--target", "ssimulacra2:75", "--report", str(tmp_path / report), "--overwrite"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.count("ssimulacra2 7") == 4 and "quality" in out
    rows = json.loads((tmp_path / "r.json").read_text())
    assert [r["status"] for r in rows] == ["ok", "ok"] and all(75 <= r["score"] <= 77 and r["reached"] for r in rows)
    assert (tmp_path / "r.csv").read_text().splitlines()[0].startswith("source,output,status,message,bytes")


def test_imageio_takes_a_target(crops):
    import imageio.v3 as iio

    data = iio.imwrite("<bytes>", crops[0], plugin="RDJPEG", extension=".jpg", target="ssimulacra2:70")
    assert data == rdjpeg.encode_to_target(crops[0], "ssimulacra2:70").data
    assert SSIMULACRA2(crops[0])(decoded(data)) >= 70


def test_the_predictor(crops):
    """Features of any size (None under 16 px: the typical curve); a monotone predicted curve near the real one."""
    f = features(crops[0])
    assert f.shape == (len(FEATURES),) and np.isfinite(f).all() and features(crops[0][:15]) is None
    assert features(np.zeros((16, 16), np.uint8)).shape == f.shape
    curve = look().ssimulacra2(f)
    assert curve.shape == (100,) and np.all(np.diff(curve) >= 0)
    assert look().ssimulacra2(None).shape == (100,)
    from rdjpeg.jpeg import jpegli

    data = jpegli.encode(crops[0], 70, progressive=True)
    assert abs(curve[69] - SSIMULACRA2(crops[0])(decoded(data))) < 8
    size = look().bpp(f)[69] * crops[0].shape[0] * crops[0].shape[1] / 8  # the predicted size of that file
    assert 0.65 < size / len(data) < 1.5
    assert parse_target("SSIMULACRA2: 80").value == 80


def test_train_look_runs_end_to_end(tmp_path):
    """``rdjpeg train look`` on three small images: measurements (resumable), then a look.json the predictor loads."""
    from rdjpeg.look import Look

    rng = np.random.default_rng(0)
    for i in range(3):
        base = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        Image.fromarray(base).resize((72, 56), Image.BICUBIC).save(tmp_path / f"t{i}.png")
    args = ["train", "look", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--workers", "1"]
    assert main(args) == 0
    assert len((tmp_path / "run" / "curves.jsonl").read_text().splitlines()) == 3
    record = json.loads((tmp_path / "run" / "look.json").read_text())
    assert record["command"] == "rdjpeg " + " ".join(args) and record["record"]["images"] == 3
    assert Look(record).ssimulacra2(features(np.asarray(Image.open(tmp_path / "t0.png")))).shape == (100,)


def test_the_cheaper_subsampling():
    """4:4:4 where 4:2:0's predicted curve stays below the look (with the margin) or 4:4:4 costs fewer bytes."""
    from rdjpeg.look import REACH, cheaper_subsampling

    scores = {"4:2:0": np.linspace(10, 88, 100), "4:4:4": np.linspace(14, 95, 100)}
    log_bpp = {"4:2:0": np.linspace(-3, 1, 100), "4:4:4": np.linspace(-2.5, 1.5, 100)}
    assert cheaper_subsampling(scores, log_bpp, 70) == "4:2:0"
    assert cheaper_subsampling(scores, log_bpp, 90) == "4:4:4"  # out of 4:2:0's reach
    assert cheaper_subsampling(scores, log_bpp, 88 - REACH + 0.1) == "4:4:4"  # within the margin
    assert cheaper_subsampling(scores, {**log_bpp, "4:4:4": log_bpp["4:2:0"] - 0.3}, 70) == "4:4:4"  # cheaper


def test_target_mode_chooses_the_subsampling_per_photo(crops):
    """The predictor's choice for the target (or 4:4:4 after a search of 4:2:0 that fell short), reaching it; a given
    subsampling is kept."""
    for crop in crops:
        found = rdjpeg.encode_to_target(crop, "ssimulacra2:90")
        factors = Image.open(io.BytesIO(found.data)).layer[0][1:3]
        predicted = look().subsampling(features(crop), 90)
        assert factors == {"4:2:0": (2, 2), "4:4:4": (1, 1)}[predicted] or (predicted, factors) == ("4:2:0", (1, 1))
        assert found.reached and found.score >= 90
    forced = rdjpeg.encode_to_target(crops[0], "ssimulacra2:80", subsampling="4:4:4")
    assert Image.open(io.BytesIO(forced.data)).layer[0][1:3] == (1, 1) and forced.score >= 80


def test_a_feature_constant_over_the_training_images_weighs_nothing():
    """A feature that barely varies over the fit (BSD200's single image size) gets no weight, so that an image far
    from it (Urban100's sizes) is predicted from the other features alone."""
    from rdjpeg.train_look import predict, ridge

    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(size=200), 11.93 + rng.normal(scale=1e-3, size=200)], axis=1)
    y = (3 * x[:, :1] + rng.normal(scale=0.1, size=(200, 1))) @ np.ones((1, 2))
    model = ridge(x, y, 1.0)
    assert np.all(model["weights"][:, 2] == 0)
    far = np.array([[1.0, 14.0]])
    assert np.allclose(predict(model, far), predict(model, np.array([[1.0, 11.93]])))


def test_a_search_never_goes_below_its_least_quality():
    """``least``: no quality under it is tried; when its file is already above the window, that file is the answer
    (a synthetic score of 0.8 a quality, so that nothing but the search runs)."""
    from rdjpeg.targets import search

    target, tried = parse_target("ssimulacra2:60"), []

    def write(q: int) -> bytes:
        tried.append(q)
        return bytes([q])

    def score(data: bytes) -> float:
        return 0.8 * data[0]

    assert search(write, score, target).quality == 76 and min(tried) < 76
    tried.clear()
    floored = search(write, score, target, least=90)
    assert (floored.quality, floored.score, tried) == (90, 72, [90])
    tried.clear()
    assert search(write, score, target, curve=0.8 * np.arange(1, 101), least=70).quality == 76 and min(tried) >= 70


def test_the_distance_ceiling():
    """Up to ``CEILING_UP_TO`` a search may not go below the quality whose jpegli distance is ``DISTANCE_CEILING``
    times that of the typical photo's quality for the target; above it, and for PSNR, it may go anywhere."""
    from rdjpeg.jpeg import jpegli
    from rdjpeg.look import lowest_quality
    from rdjpeg.targets import CEILING_UP_TO, DISTANCE_CEILING, aim, least_quality

    typical = look().ssimulacra2(None)
    for value in (50, 70, CEILING_UP_TO):
        target = parse_target(f"ssimulacra2:{value}")
        usual = lowest_quality(typical, aim(target))
        least = least_quality(typical, target, jpegli.distance)
        assert 1 < least < usual and jpegli.distance(least) <= DISTANCE_CEILING * jpegli.distance(usual)
        assert jpegli.distance(least - 1) > DISTANCE_CEILING * jpegli.distance(usual)
    assert least_quality(typical, parse_target(f"ssimulacra2:{CEILING_UP_TO + 1}"), jpegli.distance) == 1
    assert least_quality(typical, parse_target("psnr:40"), jpegli.distance) == 1

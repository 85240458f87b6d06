import io
import math
from importlib.metadata import entry_points

import numpy as np
import pytest
from PIL import Image

from rdjpeg.cli import main
from rdjpeg.hookspecs import hookimpl
from rdjpeg.learned.evaluate import Codec, evaluate
from rdjpeg.learned.report import bd_rate, write_report
from rdjpeg.registry import extension_manager


def padded_pillow(options):
    """Pillow's bytes plus trailing padding that decoders ignore: files 1/0.9 times as large, same pixels."""

    def encode(pixels, quality):
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
        return buf.getvalue() + bytes(round(buf.tell() / 9))

    return encode


class PaddedPlugin:
    @hookimpl
    def rdjpeg_register_codecs(self, register):
        register("padded", padded_pillow)


@pytest.fixture(autouse=True, scope="module")
def padded_codec():
    plugin = PaddedPlugin()
    extension_manager().register(plugin, name="padded-test-codec")
    yield
    extension_manager().unregister(plugin)


def test_codec_parsing():
    codec = Codec.parse("pillow:optimize+progressive+subsampling=4:4:4")
    assert codec.name == "pillow" and codec.options == {"optimize": True, "progressive": True, "subsampling": "4:4:4"}
    with pytest.raises(ValueError, match="unknown codec"):
        Codec.parse("webp")


def test_bd_rate_of_a_codec_against_itself_is_zero(small_images):
    result = evaluate(small_images, ["pillow", "pillow:subsampling=4:2:0"], [30, 50, 70, 90], ["psnr"], progress=False)
    bd = result["summary"]["bd_rate"]["psnr"]["pillow:subsampling=4:2:0"]
    assert bd["average_curve"] == pytest.approx(0, abs=1e-9) and bd["mean_per_image"] == pytest.approx(0, abs=1e-9)


def test_ten_percent_smaller_files_give_minus_ten_percent(small_images):
    result = evaluate(small_images, ["padded", "pillow"], [30, 50, 70, 90], ["psnr", "msssim"], progress=False)
    for metric in ("psnr", "msssim"):
        bd = result["summary"]["bd_rate"][metric]["pillow"]
        assert bd["average_curve"] == pytest.approx(-10, abs=0.3)
        assert bd["mean_per_image"] == pytest.approx(-10, abs=0.3)


def test_bd_rate_math():
    r = np.array([0.3, 0.6, 1.2, 2.4])
    d = np.array([28.0, 31.0, 34.0, 37.0])
    assert bd_rate(r, d, r * 0.8, d) == pytest.approx(-20, abs=1e-6)
    assert math.isnan(bd_rate(r, d, r, d * np.nan))


def test_report_files_and_parallel_jobs(small_images, tmp_path):
    result = evaluate(small_images, ["pillow", "pillow:optimize"], [40, 80], ["psnr", "lpips"], jobs=2, progress=False)
    assert len(result["records"]) == 2 * 2 * 2
    paths = write_report(result, str(tmp_path))
    for name in ("results.json", "results.md", "rd_psnr.png", "rd_lpips.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert Image.open(paths["rd_psnr.png"]).format == "PNG"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"codecs": ["nope"]}, "unknown codec"),
        ({"metrics": ["vmaf"]}, "unknown metric"),
        ({"qualities": [0, 50]}, "1..100"),
        ({"qualities": [50, 50]}, "two distinct"),
        ({"codecs": ["pillow", "pillow"]}, "once"),
        ({"codecs": ["pillow:sharpness=2"]}, "does not accept"),
    ],
)
def test_bad_arguments(small_images, kwargs, message):
    args = {"codecs": ["pillow"], "qualities": [30, 60], "metrics": ["psnr"], **kwargs}
    with pytest.raises(ValueError, match=message):
        evaluate(small_images, args["codecs"], args["qualities"], args["metrics"], progress=False)


def test_cli_evaluate(small_images, tmp_path, capsys):
    code = main(["evaluate", "--images", *small_images, "--codecs", "pillow,pillow:optimize",
                 "--qualities", "30,60,90", "--out", str(tmp_path), "--quiet"])  # fmt: skip
    assert code == 0
    assert "pillow:optimize" in capsys.readouterr().out
    assert (tmp_path / "rd_psnr.png").exists()
    assert main(["evaluate", "--images", str(tmp_path / "none*.png")]) == 2


def test_builtins_are_entry_points():
    names = {ep.name: ep.value for ep in entry_points(group="rdjpeg")}
    assert names.get("builtins") == "rdjpeg.builtins"


def test_crops_at_matched_size(small_images, tmp_path):
    from rdjpeg.learned.crops import nearest_size

    out = tmp_path / "eval"
    codecs = "pillow,pillow:optimize+progressive"
    argv = ["--qualities", "40,60", "--crops", "1", "--crop-quality", "50", "--out", str(out), "--quiet"]
    assert main(["evaluate", "--images", *small_images, "--codecs", codecs, *argv]) == 0
    (figure,) = (out / "crops").iterdir()
    assert figure.name.endswith("_q50.png") and Image.open(figure).size[0] > 0
    sizes = {q: 1000 + 40 * q for q in range(1, 101)}
    assert nearest_size(lambda q: b"x" * sizes[q], 2618) == (40, b"x" * 2600)
    assert nearest_size(lambda q: b"x" * sizes[q], 10) == (1, b"x" * 1040)
    assert main(["evaluate", "--images", *small_images, "--crops", "1"]) == 2  # needs --out


def test_worst_window_finds_the_damage():
    from rdjpeg.learned.crops import worst_window

    a = np.full((120, 200, 3), 128, np.uint8)
    b = a.copy()
    b[64:96, 136:168] = 0
    top, left = worst_window(a, b, 32)
    assert (top, left) == (64, 136)
    assert worst_window(a[:20, :20], b[:20, :20], 32) == (0, 0)  # a window larger than the image

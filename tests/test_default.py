"""The default pipeline: rdjpeg's default encoder at the calibrated quality (issue 17)."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

import rdjpeg
from rdjpeg.images import image_to_tensor
from rdjpeg.jpeg.backends import quality_map
from rdjpeg.learned.report import bd_rate
from rdjpeg.look import look
from rdjpeg.registry import get_backend, get_metric


def crops(shared) -> list[np.ndarray]:
    """The shipped sample and a Kodak crop (a report, not a fit: Kodak never tunes anything)."""
    from importlib.resources import files

    with Image.open(files("rdjpeg.samples").joinpath("parrots.png")) as im:
        parrots = np.asarray(im.convert("RGB"))
    kodak = np.asarray(Image.open(shared / "data" / "kodak" / "kodim23.png").convert("RGB"))[64:320, 192:448]
    return [parrots, kodak]


def kodak_crops(shared) -> list[np.ndarray]:
    """Five 256×256 Kodak crops (a check, never a fit: nothing is tuned on Kodak)."""
    names = ("kodim03", "kodim07", "kodim13", "kodim20", "kodim23")
    return [np.ascontiguousarray(np.asarray(Image.open(shared / "data" / "kodak" / f"{n}.png").convert("RGB"))
                                 [64:320, 192:448]) for n in names]  # fmt: skip


def ssimulacra2(a: np.ndarray, data: bytes) -> float:
    with torch.inference_mode():
        decoded = image_to_tensor(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
        return float(get_metric("ssimulacra2").score(image_to_tensor(a), decoded)[0])


def test_gray_quality_map_is_whole_and_monotone():
    m = quality_map()["gray"]["base"]
    assert len(m) == 100 and all(1 <= q <= 100 for q in m) and m == sorted(m)
    curve = quality_map()["gray"]["curve"]
    assert quality_map()["gray"]["backend"] == "jpegli" and len(curve) == 100 and curve == sorted(curve)


def test_gray_photos_are_jpegli_at_the_mean_look_and_their_targets_too():
    """A gray photo is jpegli's progressive, optimized file at the gray map's quality (metadata added as for RGB);
    a gray target is met with jpegli's qualities, searched from the mean gray curve."""
    from importlib.resources import files

    from rdjpeg.jpeg import jpegli

    with Image.open(files("rdjpeg.samples").joinpath("parrots.png")) as im:
        gray = np.ascontiguousarray(np.asarray(im.convert("L"))[:192, :256])
    for q in (30, 75, 95):
        expected = jpegli.encode(gray, quality_map()["gray"]["base"][q - 1], progressive=True, optimize=True)
        assert get_backend("default").encode(gray, q) == expected
    with Image.open(io.BytesIO(rdjpeg.encode(gray, 75, comment="hi", dpi=(300, 300)))) as im:
        assert im.mode == "L" and im.info["comment"] == b"hi" and im.info["dpi"] == (300, 300)
        assert im.info.get("progressive") == 1
    found = rdjpeg.encode_to_target(gray, "ssimulacra2:70", comment="hi")
    assert found.reached and 70 <= found.score <= 72 and found.encodes <= 4, found[1:]
    assert b"\xff\xfe\x00\x04hi" in found.data
    assert jpegli.encode(gray, found.quality, progressive=True, optimize=True)[2:] in found.data


def test_quality_means_pillows_look_on_average(shared):
    """``quality=q`` writes every photo at jpegli's quality of Pillow's mean look at q (4:2:0 below the looks where
    it may fall short): on five Kodak crops the default's mean SSIMULACRA2 lies within 3 points of Pillow's, in fewer
    bytes (loose bounds on few images; the figures on all of Kodak are in BENCHMARKS.md)."""
    crops = kodak_crops(shared)
    backend = get_backend("default")
    for q in (30, 50, 70, 90):
        assert {backend.encoder_settings(a, q) for a in crops} == {(look().quality(q), "4:2:0")}
        ours, pillow = ([rdjpeg.encode(a, q, backend=b) for a in crops] for b in ("default", "pillow"))
        looks = [
            np.mean([ssimulacra2(a, data) for a, data in zip(crops, files, strict=True)]) for files in (ours, pillow)
        ]
        assert abs(looks[0] - looks[1]) <= 3, (q, looks)
        assert sum(map(len, ours)) < sum(map(len, pillow)), q


def test_default_is_smaller_than_pillow_and_not_worse_than_the_peers(shared):
    """Loose bounds, real encoders: SSIMULACRA2 BD-rate of the default below Pillow's and mozjpeg's, and within 1 %
    of jpegli's (the default's RGB encoder, BENCHMARKS.md "The default")."""
    qualities = (40, 55, 70, 85)
    encoders = {
        "default": lambda a, q: rdjpeg.encode(a, q),
        "pillow": lambda a, q: get_backend("pillow").encode(a, q),
        "mozjpeg": lambda a, q: get_backend("mozjpeg").encode(a, q),
        "jpegli": lambda a, q: get_backend("jpegli").encode(a, q, optimize=True),
    }
    curves = {name: [] for name in encoders}
    for a in crops(shared):
        for name, encode in encoders.items():
            for q in qualities:
                data = encode(a, q)
                curves[name].append((8 * len(data) / (a.shape[0] * a.shape[1]), ssimulacra2(a, data)))
    mean = {k: np.asarray(v).reshape(2, len(qualities), 2).mean(0) for k, v in curves.items()}
    bd = {k: bd_rate(mean[k][:, 0], mean[k][:, 1], mean["default"][:, 0], mean["default"][:, 1]) for k in curves}
    assert bd["pillow"] < -10 and bd["mozjpeg"] < 0 and bd["jpegli"] < 1, bd


def test_default_writes_metadata_like_pillow():
    a = np.asarray(Image.new("RGB", (40, 24), "teal"))
    exif = Image.Exif()
    exif[0x010E] = "rdjpeg"  # ImageDescription
    icc = b"\x00" * 70000  # two ICC segments
    data = rdjpeg.encode(a, 70, exif=exif, icc_profile=icc, dpi=(300, 150), comment="hi", xmp=b"<x/>")
    with Image.open(io.BytesIO(data)) as im:
        assert im.getexif()[0x010E] == "rdjpeg" and im.info["icc_profile"] == icc
        assert im.info["dpi"] == (300, 150) and im.info["comment"] == b"hi" and im.info["xmp"] == b"<x/>"
        assert im.info.get("progressive") == 1


def test_options_only_pillow_honours_select_pillow():
    a = np.asarray(Image.new("RGB", (32, 32), "olive"))
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=80, smooth=10)
    assert rdjpeg.encode(a, 80, smooth=10) == buf.getvalue()
    assert rdjpeg.encode(a, 80, backend="pillow") != rdjpeg.encode(a, 80)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "mse", "backend": "default"}, "chooses its subsampling per image"),
        ({"masking": True}, "edits the image for a metric"),
        ({"prefilter": "msssim"}, "edits the image for a metric"),
        ({"backend": "default", "restart_marker_blocks": 70000}, "restart markers"),
        ({"backend": "default", "progressive": False}, "optimized files"),
        ({"comment": b"x" * 70000}, "too long"),
    ],
)
def test_default_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        rdjpeg.encode(np.zeros((8, 8, 3), np.uint8), 50, **kwargs)

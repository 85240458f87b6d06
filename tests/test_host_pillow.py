"""Pillow's own contract for its JPEG save, with "RDJPEG" in place of "JPEG".

The cases follow the save tests of Pillow's ``Tests/test_file_jpeg.py`` (python-pillow/Pillow at 4e5f09f5,
2026-08-22), rewritten here: generated images stand in for Pillow's test images, and rdjpeg's default pipeline
(its own encoder) runs wherever upstream does not compare pixels; where it does, Pillow's encoder writes
(``backend="pillow"``, nothing edited), and then the bytes must be Pillow's own. Upstream tests of the JPEG *reader*
(EXIF parsing, MPO, APP markers of files Pillow ships) do not concern a save format and are left out.
"""

import io
import os
import re

import numpy as np
import pytest
from PIL import Image, ImageFile

import rdjpeg_plugins  # noqa: F401  registers the format

PLAIN = {"backend": "pillow"}


def hopper(mode: str = "RGB", size=(128, 128)) -> Image.Image:
    """A smooth photo-like image (upstream uses its "hopper" test picture)."""
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (size[1] // 8 + 1, size[0] // 8 + 1, 3), dtype=np.uint8)
    return Image.fromarray(base).resize(size, Image.BICUBIC).convert(mode)


def random_image(size, mode="RGB") -> Image.Image:
    """Very hard to compress, as upstream's ``gen_random_image``."""
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * len(mode)))


def roundtrip_with_bytes(im: Image.Image, **options):
    out = io.BytesIO()
    im.save(out, "RDJPEG", **options)
    size = out.tell()
    out.seek(0)
    return Image.open(out), size


def roundtrip(im: Image.Image, **options) -> Image.Image:
    return roundtrip_with_bytes(im, **options)[0]


def jpeg_file(im: Image.Image, **options) -> Image.Image:
    """A JPEG written by Pillow and opened again: the source of the "keep" tests."""
    out = io.BytesIO()
    im.save(out, "JPEG", **options)
    out.seek(0)
    return Image.open(out)


def equal(a: Image.Image, b: Image.Image) -> bool:
    return a.mode == b.mode and a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("size", [(1, 0), (0, 1), (0, 0)])
def test_zero(size, tmp_path):
    with pytest.raises(ValueError, match="cannot write empty image"):
        Image.new("RGB", size).save(tmp_path / "temp.jpg", "RDJPEG")


def test_comment_write():
    im = jpeg_file(hopper(), comment=b"File written by a test")
    assert roundtrip(im).info["comment"] == im.info["comment"]  # kept by default
    for comment in ("", b"", None):
        assert "comment" not in roundtrip(im, comment=comment).info
    for comment in ("Test comment text", b"Test comment text"):
        assert roundtrip(im, comment=comment).info["comment"] == b"Test comment text"


def test_cmyk():
    im = hopper("CMYK")
    out = roundtrip(im)
    assert out.mode == "CMYK" and out.size == im.size
    assert np.abs(np.asarray(out, float) - np.asarray(im, float)).mean() < 8


def test_rgb():
    im = hopper()
    assert tuple(layer[0] for layer in roundtrip(im).layer) == (1, 2, 3)
    assert tuple(layer[0] for layer in roundtrip(im, keep_rgb=True).layer) == (ord("R"), ord("G"), ord("B"))


@pytest.mark.parametrize("mode", ["RGB", "CMYK"])
def test_dpi(mode):
    def dpi(x, y=None):
        return roundtrip(hopper(mode), dpi=(x, y or x)).info.get("dpi")

    assert dpi(72) == (72, 72) and dpi(300) == (300, 300) and dpi(100, 200) == (100, 200)
    assert dpi(0) is None  # square pixels


def test_icc(tmp_path):
    icc_profile = b"\0" * 128 + os.urandom(3016)
    hopper().save(tmp_path / "temp.jpg", "RDJPEG", icc_profile=icc_profile)
    assert Image.open(tmp_path / "temp.jpg").info.get("icc_profile") == icc_profile
    im1, im2 = roundtrip(hopper()), roundtrip(hopper(), icc_profile=icc_profile)
    assert equal(im1, im2) and not im1.info.get("icc_profile") and im2.info.get("icc_profile")


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 65533 - 14, 65533 - 14 + 1, ImageFile.MAXBLOCK,
                               ImageFile.MAXBLOCK + 1, ImageFile.MAXBLOCK * 4 + 3])  # fmt: skip
def test_icc_big(n):
    icc_profile = (b"Test" * int(n / 4 + 1))[:n]
    assert roundtrip(hopper(), icc_profile=icc_profile).info.get("icc_profile") == (icc_profile or None)


def test_large_icc_meta(tmp_path):
    im = hopper()  # metadata larger than the image
    im.save(tmp_path / "a.jpg", "RDJPEG", progressive=True, quality=95, icc_profile=b" " * 200000, optimize=True)
    im.save(tmp_path / "b.jpg", "RDJPEG", progressive=True, quality=94, icc_profile=b" " * 53955)
    im.save(tmp_path / "c.jpg", "RDJPEG", progressive=True, quality=94, exif=b" " * 43668)


def test_optimize():
    (im1, n1), (im2, n2), (im3, n3) = (roundtrip_with_bytes(hopper(), **PLAIN, **o)
                                       for o in ({}, {"optimize": 0}, {"optimize": 1}))  # fmt: skip
    assert equal(im1, im2) and equal(im1, im3) and n1 >= n2 and n1 >= n3
    assert roundtrip_with_bytes(hopper(), optimize=True)[1] <= roundtrip_with_bytes(hopper())[1]


@pytest.mark.parametrize("options", [{"optimize": True}, {"progressive": True}])
def test_large_buffer(options, tmp_path):
    """4096² needs about 1.5× Pillow's MAXBLOCK; the default pipeline at 1024² (4096² is a benchmark)."""
    Image.new("RGB", (4096, 4096), 0xFF3333).save(tmp_path / "a.jpg", "RDJPEG", **PLAIN, **options)
    Image.new("RGB", (1024, 1024), 0xFF3333).save(tmp_path / "b.jpg", "RDJPEG", **options)


def test_progressive():
    im1, n1 = roundtrip_with_bytes(hopper(), **PLAIN)
    im2 = roundtrip(hopper(), progressive=False, **PLAIN)
    im3, n3 = roundtrip_with_bytes(hopper(), progressive=True, **PLAIN)
    assert not im1.info.get("progressive") and not im2.info.get("progressive") and im3.info.get("progressive")
    assert equal(im1, im3) and n1 >= n3
    assert roundtrip(hopper(), progressive=True).info.get("progressive")


def test_progressive_large_buffer_highest_quality(tmp_path):
    random_image((255, 255)).save(tmp_path / "a.jpg", "RDJPEG", progressive=True, quality=100)


def test_progressive_cmyk_buffer():
    random_image((256, 256), "CMYK").save(io.BytesIO(), "RDJPEG", progressive=True, quality=94)


def test_large_exif(tmp_path):
    hopper().save(tmp_path / "a.jpg", "RDJPEG", quality=90, exif=b"1" * 65533)
    with pytest.raises(ValueError):
        hopper().save(tmp_path / "b.jpg", "RDJPEG", quality=90, exif=b"1" * 65534)


def test_progressive_compat():
    im1 = roundtrip(hopper(), **PLAIN)
    assert not im1.info.get("progressive") and not im1.info.get("progression")
    for key in ("progressive", "progression"):
        assert not roundtrip(hopper(), **{key: 0}).info.get("progressive")
        im = roundtrip(hopper(), **{key: 1}, **PLAIN)
        assert equal(im1, im) and im.info.get("progressive") and im.info.get("progression")


def test_quality():
    im1, n1 = roundtrip_with_bytes(hopper())
    im2, n2 = roundtrip_with_bytes(hopper(), quality=50)
    im3, n3 = roundtrip_with_bytes(hopper(), quality=0)
    assert im1.size == im2.size == im3.size and im1.mode == im2.mode == im3.mode
    assert n1 >= n2 > n3


def test_smooth():
    assert roundtrip(hopper(), smooth=100).size == (128, 128)


def test_subsampling():
    def sampling(im):
        return sum((layer[1:3] for layer in im.layer), ())

    cases = [((-1, 3), (2, 2, 1, 1, 1, 1)), ((0, "4:4:4"), (1, 1, 1, 1, 1, 1)), ((1, "4:2:2"), (2, 1, 1, 1, 1, 1)),
             ((2, "4:2:0", "4:1:1"), (2, 2, 1, 1, 1, 1))]  # fmt: skip
    for values, expected in cases:
        for value in values:
            assert sampling(roundtrip(hopper(), subsampling=value)) == expected
    for value in (-1, 0, "4:4:4"):  # RGB colour space
        assert sampling(roundtrip(hopper(), keep_rgb=True, subsampling=value)) == (1, 1, 1, 1, 1, 1)
    for value in (1, "4:2:2", 2, "4:2:0", 3):
        with pytest.raises(OSError):
            roundtrip(hopper(), keep_rgb=True, subsampling=value)
    with pytest.raises(TypeError):
        roundtrip(hopper(), subsampling="1:1:1")


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_quality_keep(mode, tmp_path):
    source = jpeg_file(hopper(mode), quality=60)
    source.save(tmp_path / "temp.jpg", "RDJPEG", quality="keep")
    assert Image.open(tmp_path / "temp.jpg").quantization == source.quantization


def test_qtables():
    im = jpeg_file(hopper(), quality=70)
    reloaded = roundtrip(im, qtables=im.quantization, subsampling=0)
    assert reloaded.quantization == im.quantization
    for preset in ("web_low", "web_high", "keep"):
        assert roundtrip(im, qtables=preset).size == im.size
    bounds = [255, 1] * 32
    assert roundtrip(im, qtables=[bounds]).quantization == {0: bounds}
    luma, chroma = list(im.quantization[0]), list(im.quantization[1])
    for tables in ([luma, chroma], (luma, chroma), {0: luma, 1: chroma}):
        assert roundtrip(im, qtables=tables).quantization == {0: luma, 1: chroma}
    for n, mode in ((1, "L"), (1, "RGB"), (2, "RGB"), (3, "RGB"), (1, "CMYK"), (4, "CMYK")):
        source = jpeg_file(hopper(mode), qtables=[[n] * 64] * n)
        assert len(source.quantization) == n
        again = roundtrip(source, qtables="keep")
        assert again.quantization == source.quantization and max(again.quantization[0]) <= 255
    for bad in ("a", [], [1, 2, 3, 4, 5], [1], [[1, 2, 3, 4]]):
        with pytest.raises(ValueError):
            roundtrip(im, qtables=bad)


def test_save_16bit_qtables():
    tables = [[300 + i for i in range(64)], [400 + i for i in range(64)]]
    source = jpeg_file(hopper(), qtables=tables)
    assert max(source.quantization[0]) > 255
    assert roundtrip(source, qtables="keep").quantization == source.quantization
    single = roundtrip(source, qtables={0: source.quantization[0]})
    assert len(single.quantization) == 1 and single.quantization[0] == source.quantization[0]


def test_save_low_quality_baseline_qtables():
    im = roundtrip(hopper(), quality=10)
    assert len(im.quantization) == 2 and max(im.quantization[0]) <= 255 and max(im.quantization[1]) <= 255


@pytest.mark.parametrize(("blocks", "rows", "markers"),
                         [(0, 0, 0), (1, 0, 15), (3, 0, 5), (8, 0, 1), (0, 1, 3), (0, 2, 1)])  # fmt: skip
def test_restart_markers(blocks, rows, markers):
    out = io.BytesIO()
    hopper(size=(32, 32)).save(out, "RDJPEG", restart_marker_blocks=blocks, restart_marker_rows=rows, subsampling=0)
    assert len(re.findall(b"\xff[\xd0-\xd7]", out.getvalue())) == markers


def test_maxblock_scaling(tmp_path):
    random_image((512, 512)).save(tmp_path / "a.jpeg", "RDJPEG", quality=100, optimize=True)
    reloaded = Image.open(tmp_path / "a.jpeg")
    for options in ({}, {"progressive": True}, {"optimize": True}):
        reloaded.save(tmp_path / "b.jpeg", "RDJPEG", quality="keep", **options)


@pytest.mark.parametrize("mode", ["1", "L", "RGB", "RGBX", "CMYK", "YCbCr"])
def test_save_correct_modes(mode):
    Image.new(mode, (20, 20)).save(io.BytesIO(), "RDJPEG")


@pytest.mark.parametrize("mode", ["LA", "La", "RGBA", "RGBa", "P"])
def test_save_wrong_modes(mode):
    with pytest.raises(OSError):
        Image.new(mode, (20, 20)).save(io.BytesIO(), "RDJPEG")


def test_save_dpi_rounding(tmp_path):
    for dpi, expected in (((72.2, 72.2), (72, 72)), ((72.8, 72.8), (73, 73))):
        hopper().save(tmp_path / "a.jpg", "RDJPEG", dpi=dpi)
        assert Image.open(tmp_path / "a.jpg").info["dpi"] == expected


def test_save_xmp(tmp_path):
    hopper().save(tmp_path / "a.jpg", "RDJPEG", xmp=b"XMP test")
    reloaded = Image.open(tmp_path / "a.jpg")
    assert reloaded.info["xmp"] == b"XMP test"
    reloaded.save(tmp_path / "b.jpg", "RDJPEG")  # XMP is not saved from the image's info
    assert "xmp" not in Image.open(tmp_path / "b.jpg").info
    hopper().save(tmp_path / "c.jpg", "RDJPEG", xmp=b"1" * 65504)
    assert Image.open(tmp_path / "c.jpg").info["xmp"] == b"1" * 65504
    with pytest.raises(ValueError):
        hopper().save(tmp_path / "d.jpg", "RDJPEG", xmp=b"1" * 65505)


def test_separate_tables():
    data = []
    for streamtype in range(3):  # interchange, tables only, image only
        out = io.BytesIO()
        hopper().save(out, "RDJPEG", streamtype=streamtype)
        data.append(out.getvalue())
    for marker in (b"\xff\xd8", b"\xff\xd9"):
        assert marker in data[1] and marker in data[2]
    for marker in (b"\xff\xdb", b"\xff\xc4"):
        assert marker in data[1] and marker not in data[2]
    for marker in (b"\xff\xc0", b"\xff\xda", b"\xff\xe0"):
        assert marker not in data[1] and marker in data[2]
    assert equal(Image.open(io.BytesIO(data[0])), Image.open(io.BytesIO(data[1] + data[2])))

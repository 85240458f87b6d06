import io
import shutil
import subprocess
import threading

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

import rdjpeg
import rdjpeg_plugins  # noqa: F401  registers the format


def photo(h=48, w=64, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (max(1, h // 8), max(1, w // 8), 3), dtype=np.uint8)
    a = np.asarray(Image.fromarray(base).resize((w, h), Image.BICUBIC)).astype(int)
    return Image.fromarray(np.clip(a + rng.integers(-10, 11, a.shape), 0, 255).astype(np.uint8))


def save(im: Image.Image, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "RDJPEG", **options)
    return buf.getvalue()


def pillow_jpeg(im: Image.Image, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **options)
    return buf.getvalue()


def test_registered_without_taking_over_jpg():
    Image.init()  # Pillow's full plugin initialisation must not drop the format
    assert "RDJPEG" in Image.SAVE
    assert Image.MIME["RDJPEG"] == "image/jpeg"
    assert Image.registered_extensions()[".jpg"] == "JPEG"
    assert Image.registered_extensions()[".jpeg"] == "JPEG"


def test_output_is_a_standard_jpeg():
    data = save(photo(), quality=60)
    with Image.open(io.BytesIO(data)) as out:
        assert out.format == "JPEG" and out.size == (64, 48) and out.mode == "RGB"


@pytest.mark.parametrize("options", [
    {}, {"quality": 30}, {"quality": 90, "subsampling": 0}, {"quality": 50, "subsampling": "4:2:2"},
    {"optimize": True}, {"progressive": True}, {"progression": True}, {"quality": 80, "dpi": (300, 300)},
    {"comment": b"hello"}, {"restart_marker_blocks": 4}, {"qtables": "web_high"}, {"quality": -1}, {"quality": 0},
    {"quality": "web_high"}, {"quality": "maximum"}, {"quality": "low"}, {"quality": 101}, {"quality": 1000},
    {"quality": -5}, {"subsampling": -1}, {"subsampling": "4:1:1"}, {"quality": 70, "subsampling": "web_low"},
    {"qtables": [[300] * 64, [400] * 64]}, {"qtables": [[3] * 64]}, {"quality": 40, "qtables": "medium"},
])  # fmt: skip
def test_pillow_options_keep_their_meaning(options):
    """Without the edits, RDJPEG writes exactly the bytes of Pillow's JPEG save with the same options."""
    im = photo()
    assert save(im, backend="pillow", **options) == pillow_jpeg(im, **options)


@pytest.mark.parametrize("mode", ["RGB", "YCbCr", "CMYK", "L"])
@pytest.mark.parametrize("options", [{"quality": "keep"}, {"qtables": "keep", "subsampling": "keep"}, {}])
def test_keep_reuses_the_source_jpeg_like_pillow(mode, options):
    source = Image.open(io.BytesIO(pillow_jpeg(photo().convert(mode), quality=35, subsampling="4:2:2")))
    assert save(source, backend="pillow", **options) == pillow_jpeg(source, **options)


def test_keep_without_a_jpeg_source_is_pillows_error():
    for options in ({"quality": "keep"}, {"qtables": "keep"}, {"subsampling": "keep"}):
        with pytest.raises(ValueError, match="Cannot use 'keep'"):
            pillow_jpeg(photo(), **options)
        with pytest.raises(ValueError, match="Cannot use 'keep'"):
            save(photo(), **options)


@pytest.mark.parametrize("options", [{"quality": "web_high"}, {"qtables": [[300] * 64, [400] * 64]},
                                     {"quality": 60, "qtables": "web_low", "subsampling": "keep"}])  # fmt: skip
def test_edited_files_use_the_tables_pillow_would(options):
    source = Image.open(io.BytesIO(pillow_jpeg(photo(), quality=90)))
    for metric in ("msssim", "mse"):  # the network; the masking (off with custom tables: plain Pillow)
        edited, plain = (Image.open(io.BytesIO(d)) for d in (save(source, metric=metric, **options),
                                                             pillow_jpeg(source, **options)))  # fmt: skip
        assert edited.quantization == plain.quantization and edited.layer == plain.layer


def test_ycbcr_with_keep_rgb_is_ycbcr_coded_like_pillow():
    im = photo().convert("YCbCr")
    for data in (save(im, keep_rgb=True), pillow_jpeg(im, keep_rgb=True), save(im, keep_rgb=True, metric="msssim")):
        with Image.open(io.BytesIO(data)) as out:
            assert [layer[0] for layer in out.layer] == [1, 2, 3] and out.layer[0][1:3] == (2, 2)


def test_large_file_beyond_pillows_buffer():
    """With optimize, Pillow's save into memory fails for files larger than its buffer; RDJPEG retries."""
    im = Image.fromarray(np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8))
    data = save(im, quality=100, optimize=True, subsampling=0)
    with Image.open(io.BytesIO(data)) as out:
        assert out.size == (400, 400) and len(data) > 400 * 400 * 2


def test_rdjpeg_options_through_save():
    data = save(photo(), quality=50, metric="mse", masking=True, prefilter="mse")
    assert data == rdjpeg.encode(photo(), 50, metric="mse", prefilter="mse")


def test_metadata_preserved():
    im = photo()
    exif = Image.Exif()
    exif[0x010F] = "rdjpeg-test"  # Make
    icc = b"\0" * 128 + b"fake-icc-profile"
    data = save(im, quality=70, exif=exif.tobytes(), icc_profile=icc, dpi=(72, 144), comment=b"note", xmp=b"<x/>")
    with Image.open(io.BytesIO(data)) as out:
        assert out.getexif()[0x010F] == "rdjpeg-test"
        assert out.info["icc_profile"] == icc
        assert out.info["dpi"] == (72, 144)
        assert out.info["comment"] == b"note"
        assert out.info["xmp"] == b"<x/>"


@pytest.mark.parametrize("mode,expected", [("RGB", "RGB"), ("L", "L"), ("1", "L"), ("RGBX", "RGB"),
                                           ("YCbCr", "RGB"), ("CMYK", "CMYK")])  # fmt: skip
def test_modes_written(mode, expected):
    data = save(photo().convert(mode), quality=70)
    with Image.open(io.BytesIO(data)) as out:
        assert out.mode == expected


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "I", "I;16", "F", "PA", "La"])
def test_modes_refused_like_pillow_and_nothing_written(mode, tmp_path):
    im = photo().convert("RGBA").convert(mode) if mode != "I;16" else photo().convert("L").convert("I;16")
    with pytest.raises(OSError):
        im.copy().save(io.BytesIO(), "JPEG")  # Pillow's own JPEG refuses it too
    buf = io.BytesIO()
    with pytest.raises(OSError, match="cannot write mode"):
        im.save(buf, "RDJPEG")
    assert buf.getvalue() == b""
    target = tmp_path / "out.jpg"
    with pytest.raises(OSError):
        im.save(target, "RDJPEG")
    assert not target.exists()  # Pillow removes the new file it opened


@pytest.mark.parametrize("size", [(1, 1), (7, 9), (17, 13), (9, 1), (1, 31), (333, 77)])
def test_sizes(size):
    im = photo(size[1], size[0])
    with Image.open(io.BytesIO(save(im, quality=75))) as out:
        assert out.size == size


def test_large_image():
    im = photo(3000, 4000)
    with Image.open(io.BytesIO(save(im, quality=75))) as out:
        assert out.size == (4000, 3000)


@pytest.mark.parametrize("quality", [float("nan"), "75", 50.0, None, np.int64(50)])
def test_bad_quality(quality):
    """What Pillow's JPEG save refuses (only Python integers), RDJPEG refuses, having written nothing."""
    buf = io.BytesIO()
    with pytest.raises(ValueError):
        photo().save(io.BytesIO(), "JPEG", quality=quality)
    with pytest.raises(ValueError, match="quality"):
        photo().save(buf, "RDJPEG", quality=quality)
    assert buf.getvalue() == b""


@pytest.mark.parametrize("quality", [101, 1000, -5, -2, 0, True])
def test_out_of_range_quality_is_clamped_as_pillow_does(quality):
    im = photo()
    jpeg = io.BytesIO()
    im.save(jpeg, "JPEG", quality=quality)
    assert save(im, quality=quality, backend="pillow") == jpeg.getvalue()


@pytest.mark.parametrize("size", [(0, 0), (0, 5), (5, 0)])
def test_empty_image_is_refused_like_pillow(size):
    buf = io.BytesIO()
    with pytest.raises(ValueError, match=r"^cannot write empty image$"):
        Image.new("RGB", size).save(buf, "RDJPEG")
    assert buf.getvalue() == b""


@pytest.mark.parametrize("options,match", [
    ({"qualty": 50}, "unknown"), ({"metric": "nope"}, "metric"), ({"backend": "nope"}, "backend"),
    ({"effort": 3}, "does not accept"), ({"quality": "keep"}, "keep"),
    ({"max_bytes": 0}, "max_bytes"), ({"table": "flat"}, "unknown"),
])  # fmt: skip
def test_bad_options_write_nothing(options, match):
    buf = io.BytesIO()
    with pytest.raises(ValueError, match=match):
        photo().save(buf, "RDJPEG", **options)
    assert buf.getvalue() == b""


def test_backend_options_pass_through():

    data = save(photo(), quality=50, backend="mozjpeg", table="flat")
    assert Image.open(io.BytesIO(data)).quantization[0] == [16] * 64
    buf = io.BytesIO()
    with pytest.raises(ValueError, match="table must be one of"):
        photo().save(buf, "RDJPEG", backend="mozjpeg", table="sharp")
    assert buf.getvalue() == b""


def test_quality_extremes():
    im = photo()
    sizes = [len(save(im, quality=q)) for q in (0, 1, 100)]
    assert sizes[0] == sizes[1] < sizes[2]


def test_max_bytes():
    im = photo(96, 128)
    data = save(im, max_bytes=1500)
    assert len(data) <= 1500
    assert len(save(im, max_bytes=1500, quality=20)) <= len(data)


def test_save_to_path_and_file_object(tmp_path):
    im = photo()
    im.save(tmp_path / "a.jpg", "RDJPEG", quality=50)
    with open(tmp_path / "b.jpg", "wb") as f:
        im.save(f, "RDJPEG", quality=50)
    assert (tmp_path / "a.jpg").read_bytes() == (tmp_path / "b.jpg").read_bytes() == save(im, quality=50)


def test_missing_and_read_only_destination(tmp_path):
    with pytest.raises(FileNotFoundError):
        photo().save(tmp_path / "missing" / "a.jpg", "RDJPEG")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if (folder / "probe").exists() or _writable(folder):
            pytest.skip("running as a user who can write to read-only folders (root)")
        with pytest.raises(PermissionError):
            photo().save(folder / "a.jpg", "RDJPEG")
    finally:
        folder.chmod(0o700)


def _writable(folder) -> bool:
    try:
        (folder / "probe").write_bytes(b"")
    except PermissionError:
        return False
    (folder / "probe").unlink()
    return True


def test_deterministic_and_thread_safe():
    images = [photo(40 + 8 * i, 56, seed=i) for i in range(8)]
    expected = [save(im, quality=60) for im in images]
    assert [save(im, quality=60) for im in images] == expected
    results = [None] * 8

    def work(i):
        results[i] = save(images[i].copy(), quality=60)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


def test_decodes_in_pillow_imageio_and_djpeg(tmp_path):
    im = photo()
    data = save(im, quality=70)
    a = np.asarray(Image.open(io.BytesIO(data)))
    assert np.array_equal(iio.imread(data, extension=".jpg"), a)
    if shutil.which("djpeg") is None:
        pytest.skip("djpeg not installed (Debian libjpeg-turbo-progs; .ci/run installs it)")
    (tmp_path / "x.jpg").write_bytes(data)
    ppm = subprocess.run(["djpeg", "-ppm", str(tmp_path / "x.jpg")], capture_output=True, check=True).stdout
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(ppm))), a)

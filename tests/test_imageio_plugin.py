import io

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

import rdjpeg_plugins  # noqa: F401  registers the plugin


def pixels(h=48, w=64, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(base).resize((w, h), Image.BICUBIC))


def pillow_rdjpeg(a: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "RDJPEG", **options)
    return buf.getvalue()


def test_write_file_bytes_and_file_object(tmp_path):
    a = pixels()
    iio.imwrite(tmp_path / "a.jpg", a, plugin="RDJPEG", quality=60)
    data = iio.imwrite("<bytes>", a, plugin="RDJPEG", extension=".jpg", quality=60)
    with open(tmp_path / "b.jpg", "wb") as f:
        iio.imwrite(f, a, plugin="RDJPEG", extension=".jpg", quality=60)
    expected = pillow_rdjpeg(a, quality=60)
    assert (tmp_path / "a.jpg").read_bytes() == data == (tmp_path / "b.jpg").read_bytes() == expected
    assert iio.imread(tmp_path / "a.jpg").shape == a.shape


def test_through_imageio_pillow_plugin(tmp_path):
    a = pixels()
    iio.imwrite(tmp_path / "a.jpg", a, plugin="pillow", format="RDJPEG", quality=60)
    assert (tmp_path / "a.jpg").read_bytes() == pillow_rdjpeg(a, quality=60)


def test_default_for_jpg_unchanged(tmp_path):
    a = pixels()
    iio.imwrite(tmp_path / "plain.jpg", a, quality=60)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=60)
    assert (tmp_path / "plain.jpg").read_bytes() == buf.getvalue()


def test_grayscale_and_single_channel():
    g = pixels()[..., 0]
    for a in (g, g[..., None]):
        data = iio.imwrite("<bytes>", a, plugin="RDJPEG", extension=".jpg", quality=70)
        assert Image.open(io.BytesIO(data)).mode == "L"


@pytest.mark.parametrize("array,match,error", [
    (np.zeros((8, 8, 4), np.uint8), "shape", ValueError), (np.zeros((8, 8, 3), np.float32), "uint8", TypeError),
    (np.zeros((2, 8, 8, 3), np.uint8), "shape", ValueError), (np.zeros((0, 8, 3), np.uint8), "shape", ValueError),
])  # fmt: skip
def test_bad_arrays_write_nothing(tmp_path, array, match, error):
    target = tmp_path / "x.jpg"
    with pytest.raises(error, match=match):
        iio.imwrite(target, array, plugin="RDJPEG")
    assert not target.exists()


def test_failed_write_leaves_existing_file_untouched(tmp_path):
    target = tmp_path / "x.jpg"
    target.write_bytes(b"precious")
    with pytest.raises(ValueError, match="quality"):
        iio.imwrite(target, pixels(), plugin="RDJPEG", quality=50.0)
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["x.jpg"]  # no temporary file left behind


def test_reading_is_refused_with_a_pointer():
    data = iio.imwrite("<bytes>", pixels(), plugin="RDJPEG", extension=".jpg")
    with pytest.raises(Exception, match="RDJPEG"):
        iio.imread(data, plugin="RDJPEG")


def test_imageio_pillow_write_arguments(tmp_path):
    a = pixels()
    gray = a[..., 0]
    assert iio.imwrite("<bytes>", gray, plugin="RDJPEG", extension=".jpg", mode="L") == pillow_rdjpeg(gray)
    assert iio.imwrite("<bytes>", a[None], plugin="RDJPEG", extension=".jpg", is_batch=True) == pillow_rdjpeg(a)
    assert iio.imwrite("<bytes>", [a], plugin="RDJPEG", extension=".jpg", format="RDJPEG") == pillow_rdjpeg(a)
    with pytest.raises(ValueError, match="one image per file"):
        iio.imwrite(tmp_path / "two.jpg", np.stack([a, a]), plugin="RDJPEG", is_batch=True)
    with pytest.raises(ValueError, match="format='PNG'"):
        iio.imwrite(tmp_path / "x.jpg", a, plugin="RDJPEG", format="PNG")
    assert not list(tmp_path.iterdir())


def test_a_name_that_is_not_jpeg_is_refused_and_nothing_written(tmp_path):
    with pytest.raises(OSError) as refused:
        iio.imwrite(tmp_path / "x.png", pixels(), plugin="RDJPEG")
    assert "not '.png'" in str(refused.value.__cause__)
    assert not (tmp_path / "x.png").exists()
    iio.imwrite(tmp_path / "x.png", pixels(), plugin="RDJPEG", extension=".jpg")  # asked for: a JPEG named .png
    assert Image.open(tmp_path / "x.png").format == "JPEG"

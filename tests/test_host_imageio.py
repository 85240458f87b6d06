"""imageio's own contract for writing JPEG through its pillow plugin, with ``plugin="RDJPEG"`` in its place.

The cases follow the JPEG-writing tests of imageio's ``tests/test_pillow.py`` (imageio/imageio at 671d96a5,
2026-07-20), rewritten here with generated images: a file equal to Pillow's own (with the edits off, as there the
bytes must be Pillow's), quality that orders file sizes, writing to bytes and to a BytesIO with ``mode="L"``, and an
OSError at ``imopen`` for a file name of another format.
"""

import io

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

import rdjpeg_plugins  # noqa: F401  registers the plugin

PLAIN = {"backend": "pillow"}


def chelsea() -> np.ndarray:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (38, 56, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(base).resize((451, 300), Image.BICUBIC))


@pytest.mark.parametrize("name", ["iio.jpg", "iio.jpeg"])
def test_write_single_frame(tmp_path, name):
    im = chelsea()
    iio.imwrite(tmp_path / name, im, plugin="RDJPEG", **PLAIN)
    Image.fromarray(im).save(tmp_path / "pil.jpg")
    assert (tmp_path / name).read_bytes() == (tmp_path / "pil.jpg").read_bytes()
    iio.imwrite(tmp_path / ("edited-" + name), im, plugin="RDJPEG")
    assert iio.imread(tmp_path / ("edited-" + name)).shape == im.shape


def test_jpg_compression(tmp_path):
    im = chelsea()
    iio.imwrite(tmp_path / "1.jpg", im, plugin="RDJPEG", quality=90)
    iio.imwrite(tmp_path / "2.jpg", im, plugin="RDJPEG", quality=10)
    assert (tmp_path / "2.jpg").stat().st_size < (tmp_path / "1.jpg").stat().st_size


def test_incompatible_write_format(tmp_path):
    with pytest.raises(IOError):
        iio.imopen(tmp_path / "foo.mp3", "w", plugin="RDJPEG")
    assert not (tmp_path / "foo.mp3").exists()


def test_write_to_bytes_jpg():
    image = (np.random.default_rng(0).random((600, 800, 3)) * 255).astype(np.uint8)
    with io.BytesIO() as output:
        Image.fromarray(image).save(output, format="JPEG")
        contents = output.getvalue()
    assert iio.imwrite("<bytes>", image, plugin="RDJPEG", extension=".jpeg", **PLAIN) == contents
    assert iio.imwrite("<bytes>", image, plugin="RDJPEG", extension=".jpeg")[:2] == b"\xff\xd8"


def test_write_jpg_to_bytes_io():
    image = np.zeros((200, 200), dtype=np.uint8)
    bytes_io = io.BytesIO()
    iio.imwrite(bytes_io, image, plugin="RDJPEG", extension=".jpeg", mode="L")
    bytes_io.seek(0)
    assert np.allclose(iio.imread(bytes_io, plugin="pillow"), image)

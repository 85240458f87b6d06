"""Willow with ``import rdjpeg_plugins.willow`` (Wagtail's renditions through it: ``test_integrations.py``'s
``test_wagtail_renditions``)."""

import importlib.util
import io
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

if importlib.util.find_spec("django") is not None:  # Willow reads Django's settings on import when Django is here
    from django.conf import settings

    if not settings.configured:
        settings.configure()
pytest.importorskip("willow", reason="Willow is not installed: pip install 'rdjpeg[willow]'")

from willow.image import Image as WillowImage
from willow.plugins.pillow import PillowImage
from willow.registry import registry

STOCK = PillowImage.save_as_jpeg  # Willow's own, before rdjpeg's import replaces it
import rdjpeg_plugins.willow  # noqa: E402, F401  the door under test
from rdjpeg.scores import SSIMULACRA2  # noqa: E402

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    with Image.open(files("rdjpeg.samples").joinpath("parrots.png")) as im:
        photo = im.convert("RGB")
    photo.info["icc_profile"] = ICC
    exif = Image.Exif()
    exif[0x013B] = "rdjpeg tests"
    photo.info["exif"] = exif.tobytes()
    return photo


def saved(save, image, **options) -> bytes:
    out = io.BytesIO()
    save(image, out, **options)
    return out.getvalue()


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def test_save_as_jpeg_is_rdjpegs_at_willows_look_and_smaller(photo):
    assert STOCK.__module__ == "willow.plugins.pillow"  # nothing in this process imported rdjpeg's door before
    image = PillowImage(photo)
    ours = saved(PillowImage.save_as_jpeg, image)  # Willow's default, quality 85
    stock = saved(STOCK, image)
    score = SSIMULACRA2(np.asarray(photo))
    assert len(ours) < len(stock) and score(decoded(ours)) > score(decoded(stock)) - 2  # Pillow's look, or better
    with Image.open(io.BytesIO(ours)) as im:
        assert im.info.get("progressive") and im.info["icc_profile"] == ICC and im.getexif()[0x013B] == "rdjpeg tests"
    assert len(saved(PillowImage.save_as_jpeg, image, quality=50)) < len(ours)
    assert saved(PillowImage.save_as_jpeg, image, progressive=True, optimize=True) == ours  # the same file


def test_willows_registry_routes_to_rdjpeg(photo, tmp_path):
    """An image Willow converts first (a file, opened lazily) reaches the operation through the registry."""
    assert registry.get_operation(PillowImage, "save_as_jpeg") is PillowImage.save_as_jpeg
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    buffer.seek(0)
    out = io.BytesIO()
    WillowImage.open(buffer).save("jpeg", out)
    assert out.getvalue() == saved(PillowImage.save_as_jpeg, PillowImage(Image.open(io.BytesIO(buffer.getvalue()))))


def test_palette_images_are_converted_as_willow_does(photo):
    image = PillowImage(photo.convert("P"))
    with Image.open(io.BytesIO(saved(PillowImage.save_as_jpeg, image))) as im:
        assert im.mode == "RGB" and im.size == photo.size


def test_optimizers_run_on_rdjpegs_file(photo, monkeypatch):
    seen = []

    class Recorder:
        @classmethod
        def applies_to(cls, image_format):
            return image_format == "jpeg"

        @classmethod
        def process(cls, file_path):
            seen.append(Path(file_path).read_bytes())

    monkeypatch.setattr(registry, "_registered_optimizers", [Recorder])
    image = PillowImage(photo)
    data = saved(PillowImage.save_as_jpeg, image)
    assert seen == [data]
    assert saved(PillowImage.save_as_jpeg, image, apply_optimizers=False) == data and len(seen) == 1


def test_bad_image_raises_and_writes_nothing(photo, tmp_path):
    path = tmp_path / "out.jpg"
    with pytest.raises(OSError, match="cannot write mode RGBA"):
        PillowImage(photo.convert("RGBA")).save_as_jpeg(str(path))
    assert not path.exists()


def test_willow_door_imports_none_of_the_learned_stack():
    from test_torch_free import loaded

    django = "from django.conf import settings; settings.configure()\n" if importlib.util.find_spec("django") else ""
    code = ("import io, numpy; from PIL import Image; import rdjpeg_plugins.willow; "
            "from willow.plugins.pillow import PillowImage; pixels = numpy.zeros((16, 16, 3), numpy.uint8); "
            "PillowImage(Image.fromarray(pixels)).save_as_jpeg(io.BytesIO())")  # fmt: skip
    assert loaded(django + code) == []

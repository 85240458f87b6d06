"""sorl-thumbnail with ``THUMBNAIL_ENGINE = "rdjpeg_plugins.sorl.Engine"``: the engine against sorl's own PIL engine
(``get_thumbnail`` in a minimal Django project: ``test_integrations.py``'s ``test_sorl_thumbnails``)."""

import importlib.util
import io
from importlib.resources import files

import numpy as np
import pytest
from PIL import Image, ImageCms

if importlib.util.find_spec("django") is not None:  # sorl reads Django's settings (its defaults fill the rest)
    from django.conf import settings

    if not settings.configured:
        settings.configure()
pytest.importorskip("sorl.thumbnail", reason="sorl-thumbnail is not installed: pip install 'rdjpeg[sorl]'")

from sorl.thumbnail.engines import pil_engine

from rdjpeg.scores import SSIMULACRA2
from rdjpeg_plugins import sorl

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture(scope="module")
def thumbnail() -> Image.Image:
    """A thumbnail as sorl's engine hands it to ``_get_raw_data``: the sample photo resized."""
    with Image.open(files("rdjpeg.samples").joinpath("parrots.png")) as im:
        return im.convert("RGB").resize((240, 160), Image.Resampling.LANCZOS)


def raw(engine_class, image, format_="JPEG", quality=95, progressive=True) -> bytes:
    return engine_class()._get_raw_data(image, format_, quality, image_info={"icc_profile": ICC},
                                        progressive=progressive)  # fmt: skip


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("quality", [95, 80])  # sorl's default, a common choice
def test_jpeg_is_rdjpegs_at_sorls_look_and_smaller(thumbnail, quality):
    ours, stock = raw(sorl.Engine, thumbnail, quality=quality), raw(pil_engine.Engine, thumbnail, quality=quality)
    score = SSIMULACRA2(np.asarray(thumbnail))
    assert len(ours) < len(stock) and score(decoded(ours)) > score(decoded(stock)) - 2  # Pillow's look, or better
    with Image.open(io.BytesIO(ours)) as im:
        assert im.info.get("progressive") and im.info["icc_profile"] == ICC
    assert len(raw(sorl.Engine, thumbnail, quality=quality - 30)) < len(ours)


def test_a_baseline_file_is_sorls(thumbnail):
    assert raw(sorl.Engine, thumbnail, progressive=False) == raw(pil_engine.Engine, thumbnail, progressive=False)


@pytest.mark.parametrize("format_", ["PNG", "WEBP"])
def test_other_formats_are_sorls(thumbnail, format_):
    assert raw(sorl.Engine, thumbnail, format_) == raw(pil_engine.Engine, thumbnail, format_)


def test_bad_image_raises_as_pillow_does(thumbnail):
    with pytest.raises(OSError, match="cannot write mode RGBA"):
        raw(sorl.Engine, thumbnail.convert("RGBA"))


def test_sorl_engine_imports_none_of_the_learned_stack():
    from test_torch_free import loaded

    code = ("from django.conf import settings; settings.configure()\n"
            "import numpy; from PIL import Image; from rdjpeg_plugins.sorl import Engine; "
            "image = Image.fromarray(numpy.zeros((16, 16, 3), numpy.uint8)); "
            "Engine()._get_raw_data(image, 'JPEG', 95, {})")  # fmt: skip
    assert loaded(code) == []

"""Property test of the Pillow plugin against Pillow's own JPEG save (hypothesis).

For random sizes (1×1..300×300 and extreme aspect ratios), every Pillow mode and random Pillow JPEG options (and
rdjpeg's pipeline choices), ``im.save(buf, "RDJPEG", **options)`` either writes a file that Pillow and djpeg decode
at the right size, or raises what ``im.save(buf, "JPEG", **options)`` raises, having written nothing; whatever
Pillow's JPEG save accepts, RDJPEG accepts. Abbreviated outputs (``streamtype`` 1: tables only, 2: image only) are
not decoded: Pillow writes them the same way, and alone they are not images.
"""

import io
import os
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image, JpegPresets

import rdjpeg_plugins  # noqa: F401  registers the format

MODES = ["1", "L", "P", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I", "I;16", "F", "LA", "PA", "La"]
PRESETS = sorted(JpegPresets.presets)
SIDES = st.one_of(st.integers(1, 300), st.sampled_from([1, 2, 7, 8, 9, 15, 16, 17]))
EXTREME = st.sampled_from([(1, 300), (300, 1), (2, 600), (600, 2), (1, 1)])


@st.composite
def images(draw) -> Image.Image:
    w, h = draw(st.one_of(st.tuples(SIDES, SIDES), EXTREME))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (max(1, h // 8), max(1, w // 8), 3), dtype=np.uint8)
    rgb = Image.fromarray(base).resize((w, h), Image.BILINEAR)
    writable = st.sampled_from(["1", "L", "RGB", "RGBX", "CMYK", "YCbCr"])
    mode = draw(st.one_of(writable, writable, st.sampled_from(MODES)))  # two in three: modes a JPEG holds
    if mode == "I;16":
        return rgb.convert("L").convert("I;16")
    return rgb.convert(mode) if mode in ("1", "L", "P", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I",
                                         "F", "LA", "PA") else rgb.convert("RGBA").convert(mode)  # fmt: skip


TABLE = st.lists(st.integers(1, 400), min_size=64, max_size=64)
OPTIONS = st.fixed_dictionaries({}, optional={
    "quality": st.one_of(st.integers(-10, 110), st.sampled_from([*PRESETS, "keep"])),
    "subsampling": st.sampled_from([-1, 0, 1, 2, 3, np.int64(1), "4:4:4", "4:2:2", "4:2:0", "4:1:1", "keep",
                                    *PRESETS[:3]]),
    "qtables": st.one_of(st.sampled_from([*PRESETS[:4], "keep"]), st.lists(TABLE, min_size=1, max_size=2)),
    "optimize": st.one_of(st.booleans(), st.sampled_from([2, "yes", 1.0])),
    "progressive": st.one_of(st.booleans(), st.sampled_from([2, "yes", 1.0])),
    "restart_marker_blocks": st.integers(0, 20),
    "dpi": st.one_of(st.none(), st.tuples(st.integers(1, 600), st.integers(1, 600)),
                     st.tuples(st.sampled_from([-3, 0, 0.4, 72.5, 65536, 70000, 2**31 + 7, 1e10]),
                               st.integers(1, 600))),
    "comment": st.one_of(st.binary(max_size=20), st.text(max_size=5), st.sampled_from([123, bytearray(b"x")])),
    "xmp": st.binary(max_size=20),
    "keep_rgb": st.booleans(),
    "streamtype": st.sampled_from([0, 1, 2]),
})  # fmt: skip
PIPELINES = st.sampled_from([{}, {"backend": "pillow"}, {"metric": "msssim"}, {"metric": "mse", "masking": True}])


def outcome(im: Image.Image, format: str, options: dict):
    buf = io.BytesIO()
    try:
        im.save(buf, format, **options)
    except Exception as error:
        return type(error), buf.getvalue()
    return None, buf.getvalue()


# RDJPEG_FUZZ_EXAMPLES=N RDJPEG_FUZZ_RANDOM=1 explores further than the test command's fixed 100 examples.
@settings(
    max_examples=int(os.environ.get("RDJPEG_FUZZ_EXAMPLES", 100)),
    deadline=None,
    derandomize="RDJPEG_FUZZ_RANDOM" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(im=images(), options=OPTIONS, pipeline=PIPELINES)
def test_rdjpeg_accepts_and_refuses_what_pillow_does(im, options, pipeline):
    expected, _ = outcome(im, "JPEG", options)
    error, data = outcome(im, "RDJPEG", {**options, **pipeline})
    if expected is not None:
        assert error is not None and issubclass(error, expected) and data == b"", (expected, error)
        event(f"refused by both: {expected.__name__}")
        return
    if error is not None and im.mode == "CMYK" and (pipeline.get("masking") or "metric" in pipeline):
        event("CMYK with an explicit edit: refused (deliberate)")
        return  # deliberate: CMYK is written unfiltered, an explicit edit of it is refused (README)
    custom_tables = "qtables" in options or options.get("quality") in PRESETS
    if error is ValueError and pipeline.get("masking") and custom_tables:
        event("masking with custom tables: refused (deliberate)")
        return  # deliberate: the masking decides with the encoder's tables and cannot model custom ones (README)
    assert error is None, error
    event("written")
    if options.get("streamtype", 0) != 0:
        return
    with Image.open(io.BytesIO(data)) as out:
        out.load()
        assert out.size == im.size
    if shutil.which("djpeg"):
        decoded = subprocess.run(["djpeg", "-pnm"], input=data, capture_output=True, check=True).stdout
        with Image.open(io.BytesIO(decoded)) as out:
            assert out.size == im.size


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_as_pillow(mode):
    im = Image.new("RGB", (20, 12), "teal").convert("RGBA").convert(mode) if mode in ("La", "PA") else Image.new(
        "RGB", (20, 12), "teal").convert(mode)  # fmt: skip
    expected, _ = outcome(im, "JPEG", {})
    error, _ = outcome(im, "RDJPEG", {})
    assert error == expected or (expected and error and issubclass(error, expected))


@pytest.mark.parametrize("mode", ["1", "L", "RGB"])
@pytest.mark.parametrize("options", [{"subsampling": np.int64(1)}, {"subsampling": np.uint8(2)},
                                     {"dpi": None, "xmp": b"x"}, {"dpi": None}, {"dpi": "ab"}])  # fmt: skip
def test_numpy_integers_and_dpi_as_pillow(mode, options):
    im = Image.new("RGB", (20, 12), "teal").convert(mode)
    expected, _ = outcome(im, "JPEG", options)
    error, data = outcome(im, "RDJPEG", options)
    assert error == expected and (error is None) == (data != b"")

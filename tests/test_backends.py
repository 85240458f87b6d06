import io
import re
import tempfile

import numpy as np
import pytest
from PIL import Image

from rdjpeg.registry import backends, get_backend


def psnr(a, b):
    return 10 * np.log10(255**2 / np.mean((a.astype(float) - b) ** 2))


@pytest.mark.parametrize("name", ["pillow", "mozjpeg", "jpegli"])
def test_backend_round_trips(name):
    backend = get_backend(name)
    if not backend.available():
        pytest.skip(f"{name} backend not installed ({backend.module} missing)")
    rng = np.random.default_rng(0)
    pixels = np.asarray(Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)).resize((37, 29)))
    data = backend.encode(pixels, 90)
    decoded = np.asarray(Image.open(io.BytesIO(data)))
    assert data[:2] == b"\xff\xd8" and decoded.shape == pixels.shape and psnr(decoded, pixels) > 30
    assert backend.encode(pixels, 90) == data  # deterministic
    tables = backend.tables(50)
    assert tables.shape == (2, 8, 8) and tables.min() >= 1 and backend.subsampling(50) == "4:2:0"
    assert (backend.tables(20) >= backend.tables(80)).all()


def test_pillow_tables_are_the_simulators():
    backend = get_backend("pillow")
    assert backend.tables(37).tolist() == backend.probe(37)[0].tolist()


def test_pillow_accepts_pillow_options_and_rejects_others():
    pixels = np.zeros((16, 16, 3), np.uint8)
    backend = get_backend("pillow")
    data = backend.encode(pixels, 75, optimize=True, progressive=True, subsampling="4:4:4", comment=b"hi")
    assert Image.open(io.BytesIO(data)).info["comment"] == b"hi"
    with pytest.raises(ValueError, match="does not accept"):
        backend.encode(pixels, 75, sharpness=3)


@pytest.mark.parametrize(("bad", "error"), [(0, ValueError), (101, ValueError), (-1, ValueError),
                                            (50.5, TypeError), ("75", TypeError), (True, TypeError)])  # fmt: skip
def test_bad_quality(bad, error):
    with pytest.raises(error, match="quality"):
        get_backend("pillow").encode(np.zeros((8, 8, 3), np.uint8), bad)


def test_bad_pixels():
    with pytest.raises(TypeError, match="uint8"):
        get_backend("pillow").encode(np.zeros((8, 8, 3), np.float32), 75)
    with pytest.raises(ValueError, match="shape"):
        get_backend("pillow").encode(np.zeros((8, 8, 4), np.uint8), 75)


def test_missing_backend_module_names_it(monkeypatch):
    backend = backends()["mozjpeg"]
    monkeypatch.setattr(type(backend), "available", lambda self: False)
    with pytest.raises(ImportError, match="needs 'pyvips'"):
        backend.encode(np.zeros((8, 8, 3), np.uint8), 75)


def test_jpegli_refuses_grayscale():
    backend = get_backend("jpegli")
    if not backend.available():
        pytest.skip("jpegli backend not installed")
    with pytest.raises(ValueError, match="RGB images only"):
        backend.encode(np.zeros((8, 8), np.uint8), 75)


def test_files_larger_than_pillows_optimize_buffer():
    """Pillow alone fails here ("broken data stream"): optimize=True on noise at q94 needs > W·H bytes."""
    pixels = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    data = get_backend("pillow").encode(pixels, 94, optimize=True, subsampling="4:4:4")
    assert len(data) > 200 * 200 and Image.open(io.BytesIO(data)).size == (200, 200)


def test_mozjpeg_base_tables():
    backend = get_backend("mozjpeg")
    noise = np.random.default_rng(1).integers(0, 256, (4, 4, 3), np.uint8)
    pixels = np.asarray(Image.fromarray(noise).resize((32, 24)))
    default = backend.encode(pixels, 60)
    assert default == backend.encode(pixels, 60, table="imagemagick") == backend.encode(pixels, 60, table=3)
    flat = backend.tables(50, table="flat", optimize=True)  # options that do not change the tables are ignored
    assert (flat == 16).all() and backend.subsampling(50, table="flat") == "4:2:0"
    assert not np.array_equal(backend.tables(50, table="ms-ssim"), backend.tables(50))
    assert Image.open(io.BytesIO(backend.encode(pixels, 50, table="flat"))).quantization[0] == [16] * 64
    for bad in ("psnr", 9, True, 1.0):
        with pytest.raises(ValueError, match="table must be one of"):
            backend.encode(pixels, 50, table=bad)


def smooth_noise(seed: int, cells: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(0, 256, (*cells, 3), np.uint8)
    return np.asarray(Image.fromarray(noise).resize(size))


def test_mozjpeg_writes_cjpegs_defaults_in_memory():
    backend = get_backend("mozjpeg")
    pixels = smooth_noise(2, (6, 5), (40, 48))
    data = backend.encode(pixels, 75)
    image = Image.open(io.BytesIO(data))
    assert data[2:6] == b"\xff\xe0\x00\x10" and data[6:11] == b"JFIF\x00"  # a JFIF header, no EXIF of libvips'
    assert b"Exif" not in data and image.info.get("progressive") and image.layer[0][1:3] == (2, 2)
    jpeglib = pytest.importorskip("jpeglib", reason="jpeglib (the [dev] extra) runs mozjpeg 4.0.3's cjpeg defaults")
    for quality in (30, 75):
        with tempfile.NamedTemporaryFile(suffix=".jpg") as f, jpeglib.version("mozjpeg403"):
            jpeglib.from_spatial(np.ascontiguousarray(pixels)).write_spatial(f.name, qt=quality)
            cjpeg = f.read()
        ours = np.asarray(Image.open(io.BytesIO(backend.encode(pixels, quality))))
        assert np.array_equal(ours, np.asarray(Image.open(io.BytesIO(cjpeg))))


def test_mozjpeg_options():
    backend = get_backend("mozjpeg")
    pixels = smooth_noise(3, (4, 4), (32, 32))
    assert Image.open(io.BytesIO(backend.encode(pixels, 80, subsampling="4:4:4"))).layer[0][1:3] == (1, 1)
    baseline = Image.open(io.BytesIO(backend.encode(pixels, 80, progressive=False)))
    assert not baseline.info.get("progressive")
    exif = Image.Exif()
    exif[0x010E] = "a test"
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = Image.open(io.BytesIO(backend.encode(pixels, 80, exif=exif.tobytes(), icc_profile=icc)))
    assert tagged.getexif()[0x010E] == "a test" and tagged.info["icc_profile"] == icc
    gray = Image.open(io.BytesIO(backend.encode(pixels[..., 0], 80)))
    assert gray.mode == "L" and gray.size == (32, 32)
    with pytest.raises(ValueError, match="4:2:2"):
        backend.encode(pixels, 80, subsampling="4:2:2")
    with pytest.raises(ValueError, match="optimized Huffman"):
        backend.encode(pixels, 80, optimize=False)


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize(("h", "w"), [(1, 1), (7, 13), (29, 37), (64, 48)])
def test_jpegli_writes_its_progressive_file_with_the_same_pixels(h, w):
    """rdjpeg.jpeg.jpegli: the baseline file is pyjpegli's, byte for byte; the progressive, optimized one decodes to
    the same pixels (only the entropy coding differs) and is smaller, for RGB and gray."""
    import pyjpegli

    from rdjpeg.jpeg import jpegli

    rng = np.random.default_rng(h * w)
    rgb = np.asarray(Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize((w, h)))
    for q in (5, 50, 95):
        plain = jpegli.encode(rgb, q)
        assert plain == pyjpegli.encode(rgb.tobytes(), w, h, q)
        progressive = jpegli.encode(rgb, q, progressive=True)
        assert b"\xff\xc2" in progressive and np.array_equal(decoded(progressive), decoded(plain))
    gray = rgb[..., 1].copy()
    data = jpegli.encode(gray, 60, progressive=True)
    assert decoded(data).shape == (h, w) and np.array_equal(decoded(data), decoded(jpegli.encode(gray, 60)))


def test_default_is_jpegli_at_its_chosen_quality():
    """The default's RGB file decodes to the pixels of jpegli's baseline file (pyjpegli's at 4:2:0) at the quality and
    subsampling the default chose for this image."""
    import pyjpegli

    from rdjpeg.jpeg import jpegli

    backend = get_backend("default")
    rng = np.random.default_rng(1)
    pixels = np.asarray(Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((80, 60)))
    for q in (30, 75, 95):
        chosen, subsampling = backend.encoder_settings(pixels, q)
        data = backend.encode(pixels, q)
        assert Image.open(io.BytesIO(data)).info.get("progressive") == 1 and sampling(data)[0] == {
            "4:2:0": (2, 2), "4:4:4": (1, 1)}[subsampling]  # fmt: skip
        plain = jpegli.encode(pixels, chosen, subsampling=subsampling)
        assert np.array_equal(decoded(data), decoded(plain))
        assert subsampling != "4:2:0" or plain == pyjpegli.encode(pixels.tobytes(), 80, 60, chosen)
        assert np.array_equal(decoded(backend.write_for_decoding(pixels, q)), decoded(data))


def sampling(data: bytes) -> tuple:
    """The (h, v) sampling factors of each component, as Pillow's decoder reads them."""
    return tuple(layer[1:3] for layer in Image.open(io.BytesIO(data)).layer)


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0", 0, 1, 2])
def test_jpegli_writes_every_subsampling(subsampling):
    """jpegli honours Pillow's subsampling: the factors asked, the pixels decode (close to the image), the same
    quality's luma quantization, and 4:2:0 is jpegli's own default file."""
    from rdjpeg.jpeg.tables import SUBSAMPLINGS
    from rdjpeg.validate import subsampling_name

    name = subsampling_name(subsampling)
    rng = np.random.default_rng(5)
    pixels = np.asarray(Image.fromarray(rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)).resize((45, 37)))
    backend = get_backend("jpegli")
    for optimize in (False, True):
        data = backend.encode(pixels, 90, optimize=optimize, subsampling=subsampling)
        assert sampling(data) == (SUBSAMPLINGS[name], (1, 1), (1, 1))
        assert decoded(data).shape == pixels.shape and psnr(decoded(data), pixels) > 30
    assert backend.subsampling(50, subsampling=subsampling) == name
    if name == "4:2:0":
        assert backend.encode(pixels, 90, subsampling=subsampling) == backend.encode(pixels, 90)


def test_subsampling_through_the_default_is_jpegli():
    """The default encoder writes 4:4:4 and 4:2:2 with jpegli (progressive, optimized), not with Pillow's encoder."""
    rng = np.random.default_rng(2)
    pixels = np.asarray(Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((80, 60)))
    backend = get_backend("default")
    for subsampling, factors in (("4:4:4", (1, 1)), (1, (2, 1)), ("4:2:0", (2, 2))):
        assert backend.accepts({"subsampling": subsampling})
        data = backend.encode(pixels, 80, subsampling=subsampling)
        assert sampling(data)[0] == factors and Image.open(io.BytesIO(data)).info.get("progressive") == 1
        assert data != get_backend("pillow").encode(pixels, 80, subsampling=subsampling)
        assert np.array_equal(decoded(backend.write_for_decoding(pixels, 80, subsampling=subsampling)), decoded(data))


@pytest.mark.parametrize(("blocks", "rows", "markers"), [(1, 0, 15), (3, 0, 5), (0, 1, 3), (0, 2, 1), (5, 1, 3)])
@pytest.mark.parametrize("name", ["default", "jpegli", "mozjpeg"])
def test_restart_markers_as_pillow_writes_them(name, blocks, rows, markers):
    """Restart markers every ``blocks`` MCUs or every ``rows`` MCU rows (rows win), counted as in Pillow's file of
    the same options; the default's file with them is sequential (one scan), gray ones too."""
    rng = np.random.default_rng(3)
    pixels = np.asarray(Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize((32, 32)))
    options = {"restart_marker_blocks": blocks, "restart_marker_rows": rows, "subsampling": 0}
    images = (pixels, pixels[..., 0].copy()) if name == "default" else (pixels,)
    extra = {"progressive": False} if name == "mozjpeg" else {}
    for image in images:
        pillow = get_backend("pillow").encode(image, 75, **options)
        data = get_backend(name).encode(image, 75, **options, **extra)
        for file in (pillow, data):
            assert len(re.findall(b"\xff[\xd0-\xd7]", file)) == markers and file.count(b"\xff\xda") == 1
        assert decoded(data).shape == image.shape


def test_restart_markers_and_subsampling_are_checked_before_jpegli():
    """jpegli ends the process on an error: what it would refuse is a ValueError first (or, from the default's
    automatic choice, Pillow's encoder, which takes any integer)."""
    from rdjpeg.jpeg import jpegli

    pixels = np.zeros((16, 16, 3), np.uint8)
    for options in ({"restart_marker_blocks": 65536}, {"restart_marker_rows": -1}, {"subsampling": "4:1:0"}):
        with pytest.raises(ValueError):
            get_backend("jpegli").encode(pixels, 80, **options)
        assert not get_backend("default").accepts(options)
    with pytest.raises(ValueError):
        jpegli.encode(pixels, 80, restart_rows=70000)
    with pytest.raises(ValueError):
        jpegli.encode(pixels, 80, subsampling="4:1:1")
    assert get_backend("default").accepts({"restart_marker_blocks": 65535, "progressive": True})

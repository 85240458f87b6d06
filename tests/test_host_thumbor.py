"""thumbor with ``ENGINE = "rdjpeg_plugins.thumbor"``: the engine against thumbor's own PIL engine in-process, then a
real thumbor server (``integrations/thumbor_server.py``, bound to 127.0.0.1, a bounded number of requests, stopped in
``finally``) beside a stock one.

thumbor 7.8 pins Pillow < 13, so it lives in a virtual environment of its own (``.ci/run``); elsewhere this skips.
"""

import io
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

pytest.importorskip("thumbor", reason="thumbor is not installed: pip install 'rdjpeg[thumbor]' (Pillow < 13)")

from thumbor.config import Config
from thumbor.context import Context, RequestParameters
from thumbor.engines import pil
from thumbor.importer import Importer

from rdjpeg.scores import SSIMULACRA2
from rdjpeg_plugins import thumbor as rdjpeg_thumbor

SERVER = Path(__file__).resolve().parents[1] / "integrations" / "thumbor_server.py"
SIZE = (240, 160)  # the sample photo is 320×213


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """A camera-like JPEG (rdjpeg's sample photo at Pillow's q95, with EXIF and an sRGB profile) and a gray one."""
    root = tmp_path_factory.mktemp("thumbor")
    exif = Image.Exif()
    exif[0x013B] = "rdjpeg tests"  # Artist
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    with Image.open(files("rdjpeg.samples").joinpath("parrots.png")) as im:
        photo = im.convert("RGB")
    photo.save(root / "photo.jpg", quality=95, exif=exif, icc_profile=icc)
    photo.convert("L").save(root / "gray.jpg", quality=95)
    return root


def read(engine_class, source: bytes, extension: str = ".jpg", quality: int | None = None, request=None,
         **settings) -> bytes:  # fmt: skip
    """thumbor's pipeline in-process: load ``source``, resize to SIZE, and ``read`` as the handler does."""
    config = Config(**settings)
    context = Context(config=config, importer=Importer(config))
    context.request = RequestParameters()
    for name, value in {"quality": None, **(request or {})}.items():  # the handler clears the quality first
        setattr(context.request, name, value)
    engine = engine_class(context)
    engine.load(source, ".jpg")
    engine.resize(*SIZE)
    return engine.read(extension, quality or context.request.quality or config.QUALITY)


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def test_jpeg_is_rdjpegs_at_pillows_look_and_smaller(photos):
    source = (photos / "photo.jpg").read_bytes()
    settings = {"PRESERVE_EXIF_INFO": True, "PRESERVE_IPTC_INFO": True}
    ours, stock = read(rdjpeg_thumbor.Engine, source, **settings), read(pil.Engine, source, **settings)
    reference = pixels(read(pil.Engine, source, ".png"))  # thumbor's resized pixels, lossless
    score = SSIMULACRA2(reference)
    assert len(ours) < len(stock) and score(pixels(ours)) > score(pixels(stock)) - 2  # Pillow's q80 look, or better
    with Image.open(io.BytesIO(ours)) as im, Image.open(io.BytesIO(stock)) as them:
        assert im.size == SIZE and im.info.get("progressive")
        assert im.info["icc_profile"] == them.info["icc_profile"] and im.getexif()[0x013B] == "rdjpeg tests"
    assert len(read(rdjpeg_thumbor.Engine, source, quality=50)) < len(ours)


@pytest.mark.parametrize("settings", [{"PILLOW_JPEG_QTABLES": "keep"}, {"PILLOW_JPEG_SUBSAMPLING": "keep"},
                                      {"PROGRESSIVE_JPEG": False, "PRESERVE_EXIF_INFO": True},
                                      {"PROGRESSIVE_JPEG": False, "PRESERVE_IPTC_INFO": True}], ids=str)  # fmt: skip
def test_what_only_pillow_writes_is_thumbors_file(photos, settings):
    source = (photos / "photo.jpg").read_bytes()
    assert read(rdjpeg_thumbor.Engine, source, **settings) == read(pil.Engine, source, **settings)


@pytest.mark.parametrize("extension", [".png", ".webp", ".gif"])
def test_other_formats_are_thumbors(photos, extension):
    source = (photos / "photo.jpg").read_bytes()
    assert read(rdjpeg_thumbor.Engine, source, extension) == read(pil.Engine, source, extension)


def test_gray_is_written_rgb_as_thumbor_does(photos):
    data = read(rdjpeg_thumbor.Engine, (photos / "gray.jpg").read_bytes())
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == "RGB" and im.size == SIZE


def test_target_setting_and_the_requests_choice(photos):
    source = (photos / "photo.jpg").read_bytes()
    reference = pixels(read(pil.Engine, source, ".png"))
    at_target = read(rdjpeg_thumbor.Engine, source, RDJPEG_TARGET="ssimulacra2:70")
    assert SSIMULACRA2(reference)(pixels(at_target)) >= 70  # in [70, 72] unless at the distance ceiling
    plain = read(rdjpeg_thumbor.Engine, source)
    # the request's quality() and max_bytes() filters choose the file; its target() filter beats a quality
    assert read(rdjpeg_thumbor.Engine, source, request={"quality": 80}, RDJPEG_TARGET="ssimulacra2:70") == plain
    assert read(rdjpeg_thumbor.Engine, source, request={"max_bytes": 10**6}, RDJPEG_TARGET="ssimulacra2:70") == plain
    filtered = read(rdjpeg_thumbor.Engine, source, request={"quality": 80, "rdjpeg_target": "ssimulacra2:70"})
    assert filtered == at_target


def test_bad_target_raises_before_writing(photos):
    source = (photos / "photo.jpg").read_bytes()
    with pytest.raises(ValueError, match="must lie in"):
        read(rdjpeg_thumbor.Engine, source, RDJPEG_TARGET="ssimulacra2:200")
    with pytest.raises(ValueError, match="rdjpeg's default encoder"):  # tables only Pillow writes, and a target
        read(rdjpeg_thumbor.Engine, source, RDJPEG_TARGET="ssimulacra2:70", PILLOW_JPEG_QTABLES="keep")


def test_the_engine_imports_none_of_the_learned_stack(photos):
    from test_torch_free import loaded

    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from pathlib import Path; from test_host_thumbor import read; from rdjpeg_plugins.thumbor import Engine; "
            f"read(Engine, Path({str(photos / 'photo.jpg')!r}).read_bytes())")  # fmt: skip
    assert loaded(code) == []


class Server:
    """``integrations/thumbor_server.py`` in a subprocess: on 127.0.0.1, stopped by itself after ``lifetime``."""

    def __init__(self, root: Path, *args: str, lifetime: float = 120) -> None:
        self.process = subprocess.Popen([sys.executable, str(SERVER), str(root), "--lifetime", str(lifetime), *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        self.url = self.process.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.url

    def get(self, path: str) -> tuple[int, bytes, str]:
        """Status, body and Content-Type of one GET, the server given 60 s (a first one waits for its start)."""
        for _ in range(50):
            try:
                with urllib.request.urlopen(self.url + path, timeout=60) as response:
                    return response.status, response.read(), response.headers["Content-Type"]
            except urllib.error.HTTPError as error:
                return error.code, error.read(), error.headers["Content-Type"]
            except urllib.error.URLError:  # not accepting yet: the socket is bound, thumbor still importing
                import time

                time.sleep(0.2)
        raise TimeoutError(f"{self.url} did not answer")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def servers(photos):
    started = []
    try:
        started.append(Server(photos))
        started.append(Server(photos, "--stock"))
        yield started
    finally:
        for server in started:
            server.stop()


def test_server_writes_rdjpegs_jpeg_and_serves_errors(servers):
    ours, stock = servers
    path = f"/unsafe/{SIZE[0]}x{SIZE[1]}/photo.jpg"
    status, data, kind = ours.get(path)
    assert (status, kind) == (200, "image/jpeg")
    _, theirs, _ = stock.get(path)
    _, png, png_kind = ours.get(f"/unsafe/{SIZE[0]}x{SIZE[1]}/filters:format(png)/photo.jpg")
    assert png_kind == "image/png" and png == stock.get(f"/unsafe/{SIZE[0]}x{SIZE[1]}/filters:format(png)/photo.jpg")[1]
    reference = SSIMULACRA2(pixels(png))
    assert len(data) < len(theirs) and reference(pixels(data)) > reference(pixels(theirs)) - 2
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == SIZE and im.info.get("progressive")
    _, low, _ = ours.get(f"/unsafe/{SIZE[0]}x{SIZE[1]}/filters:quality(50)/photo.jpg")
    assert len(low) < len(data)
    status, targeted, _ = ours.get(f"/unsafe/{SIZE[0]}x{SIZE[1]}/filters:target(ssimulacra2:75)/photo.jpg")
    assert status == 200 and 75 <= reference(pixels(targeted)) < 78
    assert ours.get(f"/unsafe/{SIZE[0]}x{SIZE[1]}/filters:target(butteraugli:2)/photo.jpg")[0] == 500
    assert ours.get(path)[:2] == (200, data)  # the worker goes on


def test_threaded_engine_gives_the_same_files(photos):
    """With ``ENGINE_THREADPOOL_SIZE`` thumbor encodes in threads: concurrent requests get the bytes of sequential
    ones, at a quality and at a target."""
    server = Server(photos, "--set", "ENGINE_THREADPOOL_SIZE=4")
    try:
        paths = [f"/unsafe/{side}x0/{f}photo.jpg" for side in (120, 160, 200, 240)
                 for f in ("", "filters:target(ssimulacra2:70)/")]  # fmt: skip
        alone = {path: server.get(path)[:2] for path in paths}
        with ThreadPoolExecutor(8) as pool:
            together = list(pool.map(server.get, paths * 3))
        assert [answer[:2] for answer in together] == [alone[path] for path in paths * 3]
        assert all(status == 200 for status, _ in alone.values())
    finally:
        server.stop()

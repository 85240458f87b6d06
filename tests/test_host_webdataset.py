"""WebDataset with ``TarWriter(..., encoder=rdjpeg_plugins.webdataset.encoder(...))``: shards written, then read back
with ``WebDataset(...).decode("pil")``."""

import io
import tarfile
from importlib.resources import files

import numpy as np
import pytest
from PIL import Image

wds = pytest.importorskip("webdataset", reason="WebDataset is not installed: pip install 'rdjpeg[webdataset]'")

from rdjpeg.scores import SSIMULACRA2  # noqa: E402
from rdjpeg_plugins.webdataset import encoder  # noqa: E402


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    with Image.open(files("rdjpeg.samples").joinpath("parrots.png")) as im:
        photo = np.asarray(im.convert("RGB"))
    return [photo, np.ascontiguousarray(photo[:160, 80:])]


def shard(path, samples: list[dict], spec=True) -> dict[str, dict[str, bytes]]:
    """Write ``samples`` with ``TarWriter(encoder=spec)``; the members' bytes by sample key and extension."""
    with wds.TarWriter(str(path), encoder=spec) as sink:
        for sample in samples:
            sink.write(sample)
    members: dict[str, dict[str, bytes]] = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            key, _, extension = member.name.partition(".")
            members.setdefault(key, {})[extension] = tar.extractfile(member).read()
    return members


def samples(photos) -> list[dict]:
    return [{"__key__": f"s{i}", "jpg": photo, "png": photo[:32, :32], "cls": i, "json": {"i": i}}
            for i, photo in enumerate(photos)]  # fmt: skip


def test_jpg_keys_are_rdjpegs_the_rest_webdatasets(photos, tmp_path):
    ours = shard(tmp_path / "ours.tar", samples(photos), encoder())
    stock = shard(tmp_path / "stock.tar", samples(photos))
    for key, photo in zip(("s0", "s1"), photos, strict=True):
        assert {k: v for k, v in ours[key].items() if k != "jpg"} == {k: v for k, v in stock[key].items() if k != "jpg"}
        score = SSIMULACRA2(photo)
        look = [score(np.asarray(Image.open(io.BytesIO(m[key]["jpg"])).convert("RGB"))) for m in (ours, stock)]
        assert len(ours[key]["jpg"]) < len(stock[key]["jpg"]) and look[0] > look[1] - 2  # quality 100's look
    read = list(wds.WebDataset(str(tmp_path / "ours.tar"), shardshuffle=False).decode("pil"))
    assert [s["__key__"] for s in read] == ["s0", "s1"] and [s["cls"] for s in read] == [0, 1]
    assert read[0]["jpg"].size == (photos[0].shape[1], photos[0].shape[0]) and read[0]["jpg"].mode == "RGB"


def test_quality_target_and_pil_or_float_input(photos, tmp_path):
    photo = photos[1]
    as_float = [{"__key__": "f", "jpeg": photo / 255.0}, {"__key__": "p", "jpeg": Image.fromarray(photo)}]
    q60 = shard(tmp_path / "q60.tar", as_float, encoder(60))
    assert q60["f"]["jpeg"] == q60["p"]["jpeg"]  # a float array in [0, 1] is WebDataset's uint8 image
    at_target = shard(tmp_path / "target.tar", as_float[1:], encoder(target="ssimulacra2:80"))["p"]["jpeg"]
    assert 80 <= SSIMULACRA2(photo)(np.asarray(Image.open(io.BytesIO(at_target)))) < 83
    assert len(q60["p"]["jpeg"]) < len(shard(tmp_path / "q100.tar", as_float[1:], encoder())["p"]["jpeg"])


def test_bad_options_fail_before_any_sample(tmp_path):
    with pytest.raises(ValueError, match="give one of them"):
        encoder(80, target="ssimulacra2:80")
    with pytest.raises(ValueError, match="must lie in"):
        encoder(target="ssimulacra2:101")


def test_a_bad_sample_adds_nothing(photos, tmp_path):
    path = tmp_path / "bad.tar"
    with wds.TarWriter(str(path), encoder=encoder(80)) as sink:
        with pytest.raises(ValueError, match="out of range"):
            sink.write({"__key__": "bad", "jpg": photos[0] * 2.0, "cls": 1})
        with pytest.raises(OSError, match="cannot write mode RGBA"):
            sink.write({"__key__": "rgba", "jpg": Image.fromarray(photos[0]).convert("RGBA")})
        sink.write({"__key__": "good", "jpg": photos[0], "cls": 2})
    assert [s["__key__"] for s in wds.WebDataset(str(path), shardshuffle=False)] == ["good"]


def test_the_encoder_imports_none_of_the_learned_stack():
    from test_torch_free import loaded

    code = ("import io, numpy, webdataset; from rdjpeg_plugins.webdataset import encoder; "
            "sink = webdataset.TarWriter(io.BytesIO(), encoder=encoder(80)); "
            "sink.write({'__key__': 'a', 'jpg': numpy.zeros((16, 16, 3), numpy.uint8)})")  # fmt: skip
    assert set(loaded(code)) <= {"torch"}  # WebDataset imports torch itself where it is installed

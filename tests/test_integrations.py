"""Run each example in integrations/ as a user would (a separate Python process)."""

import importlib.util
import io
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1] / "integrations"


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(5):
        base = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        Image.fromarray(base).resize((128, 96), Image.BICUBIC).save(root / f"p{i}.png")
    return root


def test_pillow_web_upload(folder, tmp_path):
    src = tmp_path / "upload.jpg"
    Image.open(folder / "p0.png").resize((640, 480)).save(src, quality=95, icc_profile=b"\0" * 128 + b"icc")
    out = tmp_path / "web.jpg"
    stdout = run(str(ROOT / "pillow_web_upload.py"), str(src), str(out), "--max-side", "320", "--max-bytes", "9000")
    assert "320x240" in stdout
    with Image.open(out) as im:
        assert im.size == (320, 240) and im.info["icc_profile"].endswith(b"icc") and im.info.get("progressive")
    assert out.stat().st_size <= 9000
    at_look = tmp_path / "look.jpg"
    run(str(ROOT / "pillow_web_upload.py"), str(src), str(at_look), "--max-side", "320", "--target", "ssimulacra2:70")
    from rdjpeg.scores import SSIMULACRA2

    with Image.open(src) as im:
        resized = im.convert("RGB")
        resized.thumbnail((320, 320), Image.Resampling.LANCZOS)
    # at least the target (this smooth image's file sits at the distance ceiling's quality, above the window)
    assert SSIMULACRA2(np.asarray(resized))(np.asarray(Image.open(at_look).convert("RGB"))) >= 70


def test_imageio_batch_convert(folder, tmp_path):
    stdout = run(str(ROOT / "imageio_batch_convert.py"), str(folder), str(tmp_path / "out"), "--quality", "70")
    assert stdout.startswith("5 images")
    assert len(list((tmp_path / "out").glob("*.jpg"))) == 5


def test_torchvision_pipeline(folder):
    stdout = run(str(ROOT / "torchvision_pipeline.py"), str(folder), "--workers", "2", "--batches", "1")
    assert "batch 0: (4, 3, 64, 64) torch.float32" in stdout


def test_third_party_extension_registers_metric_and_backend():
    from rdjpeg.registry import extension_manager, get_backend, metrics

    spec = importlib.util.spec_from_file_location(
        "rdjpeg_example_extension", ROOT / "third_party_extension" / "rdjpeg_example_extension" / "__init__.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pm = extension_manager()
    pm.register(module, name="example")
    try:
        assert metrics()["mae"].score(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)).item() == 1
        import rdjpeg

        pixels = (np.random.default_rng(0).random((24, 32, 3)) * 255).astype(np.uint8)
        data = rdjpeg.encode(pixels, 60, metric="mae", backend="pillow-444")
        with Image.open(io.BytesIO(data)) as im:
            assert im.layer[0][1:3] == (1, 1)  # 4:4:4
        assert get_backend("pillow-444").subsampling(50) == "4:4:4"
    finally:
        pm.unregister(module)
    assert "mae" not in metrics()


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed: pip install 'rdjpeg[ray]'")
def test_ray_batch_compress(folder, tmp_path):
    """On a local Ray cluster of 2 CPUs: the same bytes as `rdjpeg compress` run sequentially; a truncated input is
    one failed row (exit 1) and stops nothing; run again with --existing skip it resumes and writes nothing new."""
    from rdjpeg.cli import main

    (tmp_path / "in" / "sub").mkdir(parents=True)
    for i, path in enumerate(sorted(folder.glob("*.png"))):
        (tmp_path / "in" / ("sub" if i % 2 else "") / path.name).write_bytes(path.read_bytes())
    (tmp_path / "in" / "broken.png").write_bytes((folder / "p0.png").read_bytes()[:200])
    script = [sys.executable, str(ROOT / "ray_batch_compress.py"), str(tmp_path / "in"), str(tmp_path / "ray"),
              "--quality", "60", "--num-cpus", "2"]  # fmt: skip
    done = subprocess.run(script, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "5 written, 0 skipped, 1 failed" in done.stdout, done.stderr[-2000:]
    assert "broken.png" in done.stderr
    assert main(["compress", str(tmp_path / "in"), "-o", str(tmp_path / "seq"), "-q", "60", "--quiet"]) == 1
    written = sorted(p.relative_to(tmp_path / "seq") for p in (tmp_path / "seq").rglob("*.jpg"))
    assert len(written) == 5
    for relative in written:
        assert (tmp_path / "ray" / relative).read_bytes() == (tmp_path / "seq" / relative).read_bytes()
    again = subprocess.run([*script, "--existing", "skip"], capture_output=True, text=True, timeout=300)
    assert "0 written, 5 skipped, 1 failed" in again.stdout, again.stderr[-2000:]


def test_wagtail_renditions(tmp_path):
    """A minimal Wagtail project on SQLite, with "rdjpeg_plugins.wagtail" in INSTALLED_APPS and without: rdjpeg's
    renditions are smaller at Wagtail's look."""
    pytest.importorskip("wagtail", reason="Wagtail is not installed: pip install 'rdjpeg[wagtail]'")
    from rdjpeg.scores import SSIMULACRA2

    with Image.open(files("rdjpeg.samples").joinpath("parrots.png")) as im:
        im.save(tmp_path / "parrots.png")
        reference = np.asarray(im.convert("RGB").resize((240, 160), Image.Resampling.LANCZOS))
    written = {}
    for kind in ("rdjpeg", "stock"):
        flag = ["--stock"] if kind == "stock" else []
        command = [sys.executable, str(ROOT / "wagtail_renditions.py"), str(tmp_path), str(tmp_path / kind),
                   "--spec", "fill-240x160|format-jpeg|jpegquality-80", *flag]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.startswith("parrots.jpg 240x160 ")
        written[kind] = (tmp_path / kind / "parrots.jpg").read_bytes()
    ours, stock = written["rdjpeg"], written["stock"]
    assert len(ours) < len(stock)
    score = SSIMULACRA2(reference)
    look = [score(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))) for data in (ours, stock)]
    assert look[0] > look[1] - 2  # Wagtail's look, or better
    with Image.open(io.BytesIO(ours)) as im:
        assert im.info.get("progressive")


def test_sorl_thumbnails(tmp_path):
    """get_thumbnail in a minimal Django project, with THUMBNAIL_ENGINE = "rdjpeg_plugins.sorl.Engine" and without."""
    pytest.importorskip("sorl.thumbnail", reason="sorl-thumbnail is not installed: pip install 'rdjpeg[sorl]'")
    with Image.open(files("rdjpeg.samples").joinpath("parrots.png")) as im:
        im.save(tmp_path / "parrots.png")
    written = {}
    for kind in ("rdjpeg", "stock"):
        flag = ["--stock"] if kind == "stock" else []
        command = [sys.executable, str(ROOT / "sorl_thumbnails.py"), str(tmp_path), str(tmp_path / kind),
                   "--geometry", "240x160", "--crop", "center", "--quality", "80", *flag]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.startswith("parrots.jpg 240x160 ")
        written[kind] = (tmp_path / kind / "parrots.jpg").read_bytes()
    assert len(written["rdjpeg"]) < len(written["stock"])
    with Image.open(io.BytesIO(written["rdjpeg"])) as im:
        assert im.info.get("progressive") and im.size == (240, 160)

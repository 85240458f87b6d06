"""Run each example in integrations/ as a user would (a separate Python process)."""

import importlib.util
import io
import subprocess
import sys
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


def test_imageio_batch_convert(folder, tmp_path):
    stdout = run(str(ROOT / "imageio_batch_convert.py"), str(folder), str(tmp_path / "out"), "--quality", "70")
    assert stdout.startswith("5 images")
    assert len(list((tmp_path / "out").glob("*.jpg"))) == 5


def test_torchvision_pipeline(folder):
    stdout = run(str(ROOT / "torchvision_pipeline.py"), str(folder), "--workers", "2", "--batches", "1")
    assert "batch 0: (4, 3, 64, 64) torch.float32" in stdout


def test_third_party_plugin_registers_metric_and_backend():
    from rdjpeg.plugins import get_backend, metrics, plugin_manager

    spec = importlib.util.spec_from_file_location(
        "rdjpeg_example_plugin", ROOT / "third_party_plugin" / "rdjpeg_example_plugin" / "__init__.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pm = plugin_manager()
    pm.register(module, name="example")
    try:
        assert metrics()["mae"].score(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)).item() == 1
        import rdjpeg

        pixels = (np.random.default_rng(0).random((24, 32, 3)) * 255).astype(np.uint8)
        data = rdjpeg.encode(pixels, 60, metric="mae", backend="pillow-444", effort=2, check_every=1)
        with Image.open(io.BytesIO(data)) as im:
            assert im.layer[0][1:3] == (1, 1)  # 4:4:4
        assert get_backend("pillow-444").subsampling(50) == "4:4:4"
    finally:
        pm.unregister(module)
    assert "mae" not in metrics()

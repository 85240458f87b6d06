"""Checks of the plain install (``pip install .``, no extras), run by ``.ci/run`` in a venv of its own.

Every default door works (the Pillow format, imageio, ``rdjpeg.encode`` and targets, ``rdjpeg compress``, a JPEG
input that never grows); none of the learned stack's packages is installed; site-packages stays within 200 MB; and a
learned pipeline, asked for anyway, raises an ImportError naming the extra before anything is written (the CLI exits
non-zero with that message). Prints one line per check and "N passed, N failed" last; exits 1 on any failure.
"""

import importlib.util
import io
import os
import subprocess
import sys
import sysconfig
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

SITE_PACKAGES_LIMIT_MB = 200
HEAVY = ("torch", "kornia", "triton", "torchvision", "nvidia", "safetensors")
EXTRA = "pip install 'rdjpeg[learned]'"
results: list[tuple[str, bool, str]] = []


def check(name: str):
    def run(function):
        try:
            detail = function() or ""
            results.append((name, True, detail))
        except Exception as error:  # a failed check is reported, and the others still run
            results.append((name, False, f"{type(error).__name__}: {error}"))
        return function

    return run


def rdjpeg_cli(*args: str) -> subprocess.CompletedProcess:
    """The installed ``rdjpeg`` command, as a user runs it."""
    cli = os.path.join(os.path.dirname(sys.executable), "rdjpeg")
    return subprocess.run([cli, *args], capture_output=True, text=True, timeout=120)


def sample() -> Image.Image:
    with resources.files("rdjpeg.samples").joinpath("parrots.png").open("rb") as f:
        return Image.open(f).convert("RGB")


@check("no learned-stack package is installed")
def _():
    present = [m for m in HEAVY if importlib.util.find_spec(m) is not None]
    assert not present, f"installed: {present}"


@check(f"site-packages ≤ {SITE_PACKAGES_LIMIT_MB} MB")
def _():
    root = Path(sysconfig.get_paths()["purelib"])
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    assert size <= SITE_PACKAGES_LIMIT_MB * 2**20, f"{size / 2**20:.1f} MB"
    return f"{size / 2**20:.1f} MB"


@check("Pillow format: quality, target, max_bytes")
def _():
    import rdjpeg_plugins  # noqa: F401

    image, sizes = sample(), []
    for options in ({"quality": 75}, {"target": "ssimulacra2:70"}, {"max_bytes": 20_000}):
        buf = io.BytesIO()
        image.save(buf, "RDJPEG", **options)
        assert buf.getvalue()[:2] == b"\xff\xd8"
        sizes.append(len(buf.getvalue()))
    return f"{sizes} bytes"


@check("imageio plugin")
def _():
    import imageio.v3 as iio

    import rdjpeg_plugins  # noqa: F401

    data = iio.imwrite("<bytes>", np.asarray(sample()), plugin="RDJPEG", extension=".jpg", quality=80)
    assert data[:2] == b"\xff\xd8"


@check("rdjpeg.encode_to_target reaches its target")
def _():
    import rdjpeg

    found = rdjpeg.encode_to_target(sample(), "ssimulacra2:75")
    assert found.reached and found.score >= 75
    return f"score {found.score:.2f}, jpegli quality {found.quality}"


@check("a JPEG input never grows")
def _():
    import rdjpeg

    data = rdjpeg.encode(sample(), 95)
    with Image.open(io.BytesIO(data)) as again:
        out = rdjpeg.make_plan(95).encode(again.convert("RGB"), source=data)
    assert len(out.data) <= len(data)


@check("rdjpeg compress: a folder, a target, a report")
def _():
    with tempfile.TemporaryDirectory() as tmp:
        sample().save(os.path.join(tmp, "a.png"))
        out = os.path.join(tmp, "out")
        done = rdjpeg_cli("compress", tmp, "-o", out, "--target", "ssimulacra2:70", "--report",
                          os.path.join(tmp, "r.csv"), "--quiet")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert os.path.getsize(os.path.join(out, "a.jpg")) > 0


@check("a learned pipeline names the extra, before anything is written")
def _():
    import rdjpeg

    try:
        rdjpeg.encode(np.zeros((16, 16, 3), np.uint8), 60, metric="mse")
    except ImportError as error:
        assert EXTRA in str(error), error
    else:
        raise AssertionError("metric='mse' was written without the learned extra")


@check("rdjpeg compress --metric mse exits non-zero and names the extra")
def _():
    with tempfile.TemporaryDirectory() as tmp:
        sample().save(os.path.join(tmp, "a.png"))
        out = os.path.join(tmp, "a.jpg")
        done = rdjpeg_cli("compress", os.path.join(tmp, "a.png"), "-o", out, "--metric", "mse")
        assert done.returncode != 0 and EXTRA in done.stderr and not os.path.exists(out), done.stderr


for name, ok, detail in results:
    print(f"light install: {'ok  ' if ok else 'FAIL'} {name}" + (f" ({detail})" if detail else ""))
failed = sum(not ok for _, ok, _ in results)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)

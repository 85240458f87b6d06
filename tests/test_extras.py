"""Without the ``learned`` extra (torch, kornia, … blocked in a fresh interpreter, as an install without it has them
missing), every default door works and every learned one raises an ImportError that names the extra, before
anything is written. ``.ci/run`` checks the same on a real install with no extras."""

import subprocess
import sys

import pytest
from PIL import Image

BLOCK = "import sys\nfor m in {modules!r}: sys.modules[m] = None\n"
LEARNED_MODULES = ("torch", "kornia", "safetensors", "pytorch_msssim", "torchvision", "lpips")
EXTRA = "pip install 'rdjpeg[learned]'"


def run(code: str, blocked=LEARNED_MODULES) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK.format(modules=blocked) + code], capture_output=True,
                          text=True, timeout=120)  # fmt: skip


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("extras") / "photo.png"
    Image.radial_gradient("L").convert("RGB").resize((96, 64)).save(path)
    return str(path)


def test_default_doors_work_without_the_extra(photo, tmp_path):
    code = f"""
import io, numpy, imageio.v3 as iio, rdjpeg, rdjpeg_plugins
from PIL import Image
from rdjpeg.cli import main
image = Image.open({photo!r})
image.save(io.BytesIO(), "RDJPEG", quality=80)
image.save(io.BytesIO(), "RDJPEG", target="ssimulacra2:70")
iio.imwrite("<bytes>", numpy.asarray(image), plugin="RDJPEG", extension=".jpg")
assert rdjpeg.encode_to_target(image, "ssimulacra2:60").reached
assert main(["compress", {photo!r}, "-o", {str(tmp_path / "out.jpg")!r}, "--quiet"]) == 0
print("ok")
"""
    done = run(code)
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "ok", done.stderr


LEARNED_CALLS = {
    "metric=": "import numpy, rdjpeg; rdjpeg.encode(numpy.zeros((16, 16, 3), numpy.uint8), 60, metric='mse')",
    "prefilter=": "import rdjpeg; rdjpeg.make_plan(60, prefilter='msssim')",
    "Pillow metric=": "import io, rdjpeg_plugins; from PIL import Image; "
    "Image.new('RGB', (16, 16)).save(io.BytesIO(), 'RDJPEG', metric='msssim')",
    "rdjpeg.Prefilter": "import rdjpeg; rdjpeg.Prefilter",
    "the simulator": "import rdjpeg; rdjpeg.simulate_jpeg",
}


@pytest.mark.parametrize("call", sorted(LEARNED_CALLS))
def test_learned_calls_name_the_extra(call):
    done = run(LEARNED_CALLS[call])
    assert done.returncode != 0 and "ImportError" in done.stderr and EXTRA in done.stderr, done.stderr


def test_diff_transform_names_the_extra_with_torch_installed():
    pytest.importorskip("torchvision")
    done = run("from rdjpeg_plugins.torchvision import DiffRDJPEG, RDJPEG; RDJPEG(75); DiffRDJPEG(75)",
               blocked=("kornia", "pytorch_msssim"))  # fmt: skip
    assert done.returncode != 0 and EXTRA in done.stderr, done.stderr


@pytest.mark.parametrize("argv", [
    ["compress", "{photo}", "-o", "{out}", "--metric", "mse"],
    ["train", "prefilter", "--data", "{photo}", "--out", "{out}"],
    ["evaluate", "--images", "{photo}", "--metrics", "lpips"],
    ["simulate", "{photo}"],
])  # fmt: skip
def test_cli_exits_with_the_extra_and_writes_nothing(argv, photo, tmp_path):
    out = tmp_path / "out"
    args = [a.format(photo=photo, out=out) for a in argv]
    done = run(f"import sys; from rdjpeg.cli import main; sys.exit(main({args!r}))")
    assert done.returncode not in (0, None) and EXTRA in done.stderr, done.stderr
    assert not out.exists()


@pytest.mark.parametrize(("code", "extra"), [
    ("from rdjpeg_plugins.torchvision import RDJPEG", "torchvision"),
    ("from rdjpeg.distributed import compress_on_ray; compress_on_ray('.', 'out')", "ray"),
])  # fmt: skip
def test_other_extras_are_named(code, extra):
    done = run(code, blocked=("torchvision", "ray", "pyarrow"))
    assert done.returncode != 0 and f"pip install 'rdjpeg[{extra}]'" in done.stderr, done.stderr

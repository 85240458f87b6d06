"""The default path imports no torch or kornia, at every door (a fresh interpreter each): the Pillow format, the
imageio plugin, ``rdjpeg.encode``, ``rdjpeg compress``, the Ray path's worker and the torchvision transform (which
imports torch through torchvision itself, but none of rdjpeg's learned stack); a learned pipeline loads them."""

import subprocess
import sys

import pytest
from PIL import Image

LEARNED = ("torch", "kornia", "rdjpeg.learned")
REPORT = f"import sys; print(sorted(m for m in {LEARNED!r} if m in sys.modules))"


def loaded(code: str) -> list[str]:
    """The learned modules loaded after ``code`` runs in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", f"{code}\n{REPORT}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("light") / "photo.png"
    Image.radial_gradient("L").convert("RGB").resize((96, 64)).save(path)
    return str(path)


DOORS = {
    "import rdjpeg": "import rdjpeg",
    "rdjpeg.encode": "import numpy, rdjpeg; rdjpeg.encode(numpy.zeros((16, 16, 3), numpy.uint8), 60)",
    "Pillow": "import io, rdjpeg_plugins; from PIL import Image; Image.open({photo!r}).save(io.BytesIO(), 'RDJPEG')",
    "Pillow, max_bytes": "import io, rdjpeg_plugins; from PIL import Image; "
    "Image.open({photo!r}).save(io.BytesIO(), 'RDJPEG', max_bytes=5000)",
    "imageio": "import numpy, imageio.v3 as iio, rdjpeg_plugins; "
    "iio.imwrite('<bytes>', numpy.zeros((16, 16, 3), numpy.uint8), plugin='RDJPEG', extension='.jpg')",
    "rdjpeg compress": "from rdjpeg.cli import main; import os, tempfile; "
    "assert main(['compress', {photo!r}, '-o', os.path.join(tempfile.mkdtemp(), 'o.jpg'), '--quiet']) == 0",
    "Ray worker": "import tempfile; from rdjpeg.distributed import Compressor; from rdjpeg.plan import make_plan; "
    "out = tempfile.mkdtemp(); c = Compressor('/', out, make_plan(70), 'error', True); "
    "assert c({{'source': [{photo!r}], 'output': [out + '/o.jpg']}})['status'] == ['ok']",
}


@pytest.mark.parametrize("door", sorted(DOORS))
def test_the_default_path_imports_no_torch(door, photo):
    if door == "Ray worker":
        pytest.importorskip("pyarrow", reason="the Ray path reads through pyarrow: pip install 'rdjpeg[ray]'")
    assert loaded(DOORS[door].format(photo=photo)) == []


def test_the_transform_imports_none_of_the_learned_stack():
    pytest.importorskip("torchvision", reason="the transform needs torchvision: pip install 'rdjpeg[torchvision]'")
    code = ("import torch; from rdjpeg_plugins.torchvision import RDJPEG; "
            "RDJPEG(quality=(30, 90))(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))")  # fmt: skip
    assert loaded(code) == ["torch"]


def test_a_learned_pipeline_loads_torch():
    code = "import numpy, rdjpeg; rdjpeg.encode(numpy.zeros((16, 16, 3), numpy.uint8), 60, metric='mse')"
    assert {"torch", "kornia", "rdjpeg.learned"} <= set(loaded(code))

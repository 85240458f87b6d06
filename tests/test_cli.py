import numpy as np
import pytest
from PIL import Image

from rdjpeg.cli import main


@pytest.fixture
def image_path(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "in.png"
    Image.fromarray(rng.integers(0, 256, (23, 31, 3), dtype=np.uint8)).save(path)
    return path


def test_simulate_is_bit_exact_and_writes_output(image_path, tmp_path, capsys):
    out = tmp_path / "sim.png"
    assert main(["simulate", str(image_path), "-q", "40", "-o", str(out)]) == 0
    assert "bit-exact" in capsys.readouterr().out
    assert Image.open(out).size == (31, 23)


def test_simulate_missing_file_fails_cleanly(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "missing.png")]) == 1
    assert "error" in capsys.readouterr().err


def test_bad_quality_is_rejected(image_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", str(image_path), "-q", "101"])
    assert exit_info.value.code == 2


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "rdjpeg" in capsys.readouterr().out

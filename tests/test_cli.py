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


def test_compress_one_file_and_refuse_to_overwrite(image_path, tmp_path, capsys):
    out = tmp_path / "out.jpg"
    assert main(["compress", str(image_path), "-o", str(out), "-q", "50", "--effort", "2"]) == 0
    first = out.read_bytes()
    assert Image.open(out).format == "JPEG"
    assert main(["compress", str(image_path), "-o", str(out), "-q", "20"]) == 1
    assert out.read_bytes() == first and "exists" in capsys.readouterr().err
    assert main(["compress", str(image_path), "-o", str(out), "-q", "20", "--overwrite"]) == 0
    assert out.read_bytes() != first


def test_compress_many_into_a_folder_and_failures(image_path, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    assert main(["compress", str(image_path), str(broken), "-o", str(folder)]) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["in.jpg"]  # nothing partial for the broken input
    assert main(["compress", str(image_path), str(broken), "-o", str(tmp_path / "missing")]) == 2

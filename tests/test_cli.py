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


def test_compress_one_file_and_existing_policy(image_path, tmp_path, capsys):
    out = tmp_path / "out.jpg"
    assert main(["compress", str(image_path), "-o", str(out), "-q", "50", "--metric", "mse", "--quiet"]) == 0
    first = out.read_bytes()
    assert first[:2] == b"\xff\xd8"
    assert main(["compress", str(image_path), "-o", str(out), "-q", "20"]) == 1  # exists: refused, untouched
    assert out.read_bytes() == first and "exists" in capsys.readouterr().err
    assert main(["compress", str(image_path), "-o", str(out), "-q", "20", "--existing", "skip"]) == 0
    assert out.read_bytes() == first
    assert main(["compress", str(image_path), "-o", str(out), "-q", "20", "--overwrite"]) == 0
    assert out.read_bytes() != first


def tree(root, names):
    rng = np.random.default_rng(1)
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (17, 13, 3), dtype=np.uint8)).save(path)


@pytest.mark.parametrize("pipeline", [[], ["--metric", "mse"]])  # threads (nothing edited); worker processes
def test_compress_folder_tree_glob_and_jobs(tmp_path, pipeline):
    tree(tmp_path / "in", ["a.png", "sub/b.png", "sub/deeper/c.bmp"])
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    assert main(["compress", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--quiet", "-j", "2", *pipeline]) == 0
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.jpg"))
    assert written == ["a.jpg", "sub/b.jpg", "sub/deeper/c.jpg"]
    sequential = tmp_path / "seq"
    assert main(["compress", str(tmp_path / "in"), "-o", str(sequential), "--quiet", *pipeline]) == 0
    for name in written:  # identical bytes with and without workers
        assert (sequential / name).read_bytes() == (tmp_path / "out" / name).read_bytes()
    pattern = str(tmp_path / "in" / "**" / "*.png")
    assert main(["compress", pattern, "-o", str(tmp_path / "globbed"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "globbed").iterdir()) == ["a.jpg", "b.jpg"]


def test_compress_failures_and_usage_errors(image_path, tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    folder = tmp_path / "out"
    assert main(["compress", str(image_path), str(broken), "-o", str(folder), "--quiet"]) == 1
    assert (folder / "in.jpg").exists() and not (folder / "broken.jpg").exists()
    assert "broken.png" in capsys.readouterr().err
    assert main(["compress", str(tmp_path / "nothing*.png"), "-o", str(folder)]) == 2
    assert main(["compress", str(image_path), "-o", str(tmp_path / "missing" / "x.jpg")]) == 2
    assert not (tmp_path / "missing").exists()
    tree(tmp_path / "clash", ["x.png", "x.bmp"])
    assert main(["compress", str(tmp_path / "clash"), "-o", str(tmp_path / "o2")]) == 2
    assert not list(tmp_path.glob(".rdjpeg-*"))


def test_compress_options_and_metadata(image_path, tmp_path):
    src = tmp_path / "meta.jpg"
    exif = Image.Exif()
    exif[0x010F] = "camera"
    Image.open(image_path).save(src, quality=95, exif=exif.tobytes(), icc_profile=b"\0" * 128 + b"icc")
    out = tmp_path / "o.jpg"
    assert main(["compress", str(src), "-o", str(out), "--max-bytes", "900", "--progressive", "--quiet"]) == 0
    with Image.open(out) as im:
        assert im.getexif()[0x010F] == "camera" and im.info["icc_profile"].endswith(b"icc")
        assert im.info.get("progressive") and out.stat().st_size <= 900
    assert main(["compress", str(src), "-o", str(out), "--strip", "--overwrite", "--quiet"]) == 0
    with Image.open(out) as im:
        assert "icc_profile" not in im.info and 0x010F not in im.getexif()


@pytest.mark.parametrize("value", ["200", "0", "abc"])
def test_bad_quality_is_one_line(image_path, tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["compress", str(image_path), "-o", str(tmp_path / "o.jpg"), "-q", value])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "quality must be an integer from 1 to 100" in err and ", 99," not in err


def test_evaluate_usage_errors_exit_2(image_path, capsys):
    assert main(["evaluate", "--images", str(image_path), "--codecs", "pillow,webp"]) == 2
    assert "unknown codec 'webp'" in capsys.readouterr().err
    assert main(["evaluate", "--images", str(image_path), "--metrics", "psnr,vmaf"]) == 2
    assert "unknown metric 'vmaf'" in capsys.readouterr().err


def test_evaluate_takes_j(image_path, tmp_path):
    argv = ["evaluate", "--images", str(image_path), "--qualities", "40,60", "-j", "1", "--quiet"]
    assert main(argv) == 0


def test_compress_takes_a_table(image_path, tmp_path, capsys):
    out = tmp_path / "flat.jpg"
    argv = ["compress", str(image_path), "-o", str(out), "-q", "50", "--backend", "mozjpeg", "--quiet"]
    assert main([*argv, "--table", "flat"]) == 0
    assert Image.open(out).quantization[0] == [16] * 64
    assert main([*argv, "--table", "1", "--overwrite"]) == 0 and Image.open(out).quantization[0] == [16] * 64
    before = out.read_bytes()
    assert main([*argv, "--table", "sharp", "--overwrite"]) == 2  # a usage error: checked before any file
    assert "table must be one of" in capsys.readouterr().err and out.read_bytes() == before


def test_compress_stdin_to_stdout_like_cjpeg(image_path, tmp_path):
    import subprocess
    import sys

    command = [sys.executable, "-m", "rdjpeg", "compress", "-", "-o", "-", "-q", "40"]
    piped = subprocess.run(command, input=image_path.read_bytes(), capture_output=True, check=True)
    assert main(["compress", str(image_path), "-o", str(tmp_path / "a.jpg"), "-q", "40", "--quiet"]) == 0
    assert piped.stdout == (tmp_path / "a.jpg").read_bytes()  # the file alone on stdout; messages on stderr
    for argv in (["-", str(image_path), "-o", "-"], [str(image_path), str(image_path), "-o", "-"],
                 [str(tmp_path), "-o", "-"]):  # fmt: skip
        assert main(["compress", *argv]) == 2

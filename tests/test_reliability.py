"""Never lose a file, never hang, never leave a process behind: outputs, links, signals, limits, broken settings."""

import os
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import rdjpeg
from rdjpeg.cli import main
from rdjpeg.compress import plan_jobs, run_jobs
from rdjpeg.files import TEMP_PREFIX, write_atomically
from rdjpeg.plan import make_plan


def photo(path, size=(48, 40), seed=0):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def temp_files(folder) -> list[str]:
    return [n for _, _, names in os.walk(folder) for n in names if n.startswith(TEMP_PREFIX)]


def cli(*argv, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rdjpeg", *map(str, argv)], capture_output=True, text=True,
                          **kwargs)  # fmt: skip


# Outputs ------------------------------------------------------------------------------------------------------------


def test_two_writers_never_both_create(tmp_path):
    target, results = tmp_path / "out.jpg", []

    def write(i: int) -> None:
        try:
            write_atomically(target, bytes([i]) * 1000, replace=False)
            results.append(i)
        except FileExistsError:
            results.append(None)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and target.read_bytes() == bytes(winners) * 1000
    assert not temp_files(tmp_path)


def test_two_runs_into_one_folder_write_each_output_once(tmp_path):
    (tmp_path / "in").mkdir()
    for i in range(12):
        photo(tmp_path / "in" / f"{i:02d}.png", seed=i)
    runs = [subprocess.Popen([sys.executable, "-m", "rdjpeg", "compress", str(tmp_path / "in"), "-o",
                              str(tmp_path / "out"), "--quiet"], stderr=subprocess.PIPE, text=True)
            for _ in range(2)]  # fmt: skip
    summaries = [run.communicate(timeout=120)[1].strip().splitlines()[-1] for run in runs]
    written = sum(int(s.split(" written")[0]) for s in summaries)
    assert written == 12, summaries  # each output by exactly one run; the other reports it as existing
    assert len(os.listdir(tmp_path / "out")) == 12 and not temp_files(tmp_path / "out")


def special_files(tmp_path):
    """(path, kind) of what must never be replaced, as far as this machine lets a test make them."""
    made = [(tmp_path / "folder.jpg", "folder")]
    (tmp_path / "folder.jpg").mkdir()
    os.mkfifo(tmp_path / "fifo.jpg")
    made.append((tmp_path / "fifo.jpg", "FIFO"))
    try:
        os.mknod(tmp_path / "null.jpg", stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a copy of /dev/null
        made.append((tmp_path / "null.jpg", "character device"))
    except PermissionError:
        pass  # not root: the FIFO and the folder stand for the special files
    return made


def test_never_replaces_anything_but_a_regular_file(tmp_path):
    import imageio.v3 as iio

    import rdjpeg_plugins  # noqa: F401

    source = photo(tmp_path / "a.png")
    for path, kind in special_files(tmp_path):
        before = os.lstat(path).st_mode
        with pytest.raises(OSError, match=kind if kind != "folder" else "folder"):
            write_atomically(path, b"data")
        with pytest.raises(OSError):
            iio.imwrite(path, np.zeros((8, 8, 3), np.uint8), plugin="RDJPEG")
        if kind != "folder":  # -o naming a folder writes into it
            assert main(["compress", str(source), "-o", str(path), "--existing", "overwrite", "--quiet"]) == 1
        assert os.lstat(path).st_mode == before
    assert not temp_files(tmp_path)


def test_a_link_to_a_regular_file_is_written_through(tmp_path):
    (tmp_path / "real.jpg").write_bytes(b"old")
    (tmp_path / "link.jpg").symlink_to(tmp_path / "real.jpg")
    write_atomically(tmp_path / "link.jpg", b"new")
    assert (tmp_path / "link.jpg").is_symlink() and (tmp_path / "real.jpg").read_bytes() == b"new"


# Inputs -------------------------------------------------------------------------------------------------------------


def linked_tree(tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    photo(root / "a.png")
    photo(root / "sub" / "b.png", seed=1)
    photo(tmp_path / "outside.png", seed=2)
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)  # a loop
    (root / "outside.png").symlink_to(tmp_path / "outside.png")  # a link out of the tree
    (root / "dangling.png").symlink_to(tmp_path / "missing.png")
    (root / "notes.txt").write_text("not an image")
    return root


def test_links_are_not_followed_and_every_skip_is_reported(tmp_path):
    plan = plan_jobs([str(linked_tree(tmp_path))], str(tmp_path / "out"))
    assert sorted(os.path.relpath(j.output, tmp_path / "out") for j in plan.jobs) == ["a.jpg", "sub/b.jpg"]
    reasons = {os.path.basename(p): r for p, r in plan.skipped}
    assert set(reasons) == {"loop", "outside.png", "dangling.png", "notes.txt"}
    assert "symbolic link" in reasons["loop"] and "not an image" in reasons["notes.txt"]


def test_following_links_walks_each_folder_once(tmp_path, capsys):
    root = linked_tree(tmp_path)
    plan = plan_jobs([str(root)], str(tmp_path / "out"), follow_symlinks=True)
    names = sorted(os.path.relpath(j.output, tmp_path / "out") for j in plan.jobs)
    assert names == ["a.jpg", "outside.jpg", "sub/b.jpg"]  # the loop walked once
    assert any("already walked" in r for _, r in plan.skipped)
    assert any("dangling" in r for _, r in plan.skipped)
    assert main(["compress", str(root), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    assert "skipped" in capsys.readouterr().err


# Signals ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def big_batch(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(16):
        photo(folder / f"{i:02d}.png", size=(768, 512), seed=i)
    return folder


def start_batch(folder, out) -> subprocess.Popen:
    # An edited pipeline: worker processes, and slow enough to be stopped midway.
    command = [sys.executable, "-m", "rdjpeg", "compress", str(folder), "-o", str(out), "--jobs", "2", "--quiet",
               "--metric", "mse"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.exists() and any(n.endswith(".jpg") for n in os.listdir(out))):
        time.sleep(0.1)  # until the first output: the workers are running
    return process


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_first_signal_stops_the_batch_with_a_summary(big_batch, tmp_path, signum, code):
    out = tmp_path / "out"
    process = start_batch(big_batch, out)
    process.send_signal(signum)
    start = time.monotonic()
    _, err = process.communicate(timeout=30)
    assert process.returncode == code and time.monotonic() - start < 5
    assert "not started" in err and "Traceback" not in err
    assert not temp_files(out) and all(Image.open(out / n).size == (768, 512) for n in os.listdir(out))


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to find the workers")
def test_workers_end_when_the_parent_is_killed(big_batch, tmp_path):
    process = start_batch(big_batch, tmp_path / "out")
    workers = children(process.pid)
    assert workers
    process.kill()
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(alive, workers)):
        time.sleep(0.2)
    assert not any(map(alive, workers)), "orphaned workers"


# Limits and settings ------------------------------------------------------------------------------------------------


def test_pixel_limit_fails_one_file_and_the_batch_goes_on(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    photo(tmp_path / "in" / "small.png", size=(10, 10))
    photo(tmp_path / "in" / "large.png", size=(64, 64))
    assert main(["compress", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--max-pixels", "1000"]) == 1
    err = capsys.readouterr().err
    assert "4,096 pixels, over the limit of 1,000" in err and (tmp_path / "out" / "small.jpg").exists()


def test_jpeg_side_limit_is_said():
    with pytest.raises(ValueError, match="65,500 pixels per side"):
        rdjpeg.encode(np.zeros((1, 70000), np.uint8), 50)
    import io

    import rdjpeg_plugins  # noqa: F401

    with pytest.raises(OSError, match="65,500 pixels per side"):
        Image.new("L", (70000, 1)).save(io.BytesIO(), "RDJPEG")


@pytest.mark.parametrize("content", [b"", b"\x00" * 10, os.urandom(500), b"\x80\x04K\x01.", "nan"])
def test_broken_lpips_weights_fail_only_what_needs_them(tmp_path, monkeypatch, capsys, content):
    weights = tmp_path / "lpips.safetensors"
    if content == "nan":
        from safetensors.torch import save_file

        from rdjpeg.learned.metrics import load_lpips_state, lpips_weights_path

        save_file({k: v * float("nan") for k, v in load_lpips_state(lpips_weights_path()).items()}, weights)
    else:
        weights.write_bytes(content)
    monkeypatch.setenv("RDJPEG_LPIPS_WEIGHTS", str(weights))
    source = photo(tmp_path / "a.png")
    evaluate = ["evaluate", "--images", str(source), "--codecs", "pillow", "--qualities", "30,60", "--quiet"]
    assert main([*evaluate, "--metrics", "lpips"]) == 1
    err = capsys.readouterr().err
    assert "RDJPEG_LPIPS_WEIGHTS" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main([*evaluate, "--metrics", "psnr"]) == 0  # PSNR needs no LPIPS, nor does any compress pipeline
    assert main(["compress", str(source), "-o", str(tmp_path / "b.jpg"), "--metric", "lpips", "--quiet"]) == 0


@pytest.mark.parametrize("threads", ["abc", "0", "-3"])
def test_bad_thread_settings_do_not_crash(tmp_path, threads):
    result = cli("compress", photo(tmp_path / "a.png"), "-o", tmp_path / "a.jpg",
                 env={**os.environ, "OMP_NUM_THREADS": threads})  # fmt: skip
    assert result.returncode == 0 and "Traceback" not in result.stderr


# A property test of the command's promises over random trees -------------------------------------------------------

KINDS = st.sampled_from(["good", "good", "truncated", "text", "link", "dangling"])


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=st.lists(st.tuples(st.sampled_from(["", "a", "a/b"]), KINDS), min_size=1, max_size=8),
       existing=st.sampled_from(["error", "skip", "overwrite"]))  # fmt: skip
def test_random_trees_keep_the_promises(tmp_path_factory, layout, existing):
    base = tmp_path_factory.mktemp("tree")
    root, out = base / "in", base / "out"
    good = photo(base / "good.png")
    for i, (folder, kind) in enumerate(layout):
        (root / folder).mkdir(parents=True, exist_ok=True)
        path = root / folder / f"{i}.png"
        if kind == "good":
            photo(path, seed=i)
        elif kind == "truncated":
            path.write_bytes(good.read_bytes()[:100])
        elif kind == "text":
            path.write_text("not an image")
        elif kind == "link":
            path.symlink_to(good)
        else:
            path.symlink_to(base / "missing.png")
    (out / "a").mkdir(parents=True)
    (out / "0.jpg").write_bytes(b"precious")  # an existing output
    if all(kind in ("link", "dangling") for _, kind in layout):
        with pytest.raises(ValueError, match="no images"):  # a usage error, before anything is written
            plan_jobs([str(root)], str(out))
        return
    plan = plan_jobs([str(root)], str(out))
    result = run_jobs(plan.jobs, make_plan(50), existing, progress=False, log=lambda line: None)
    assert result["ok"] + result["skipped"] + result["failed"] == len(plan.jobs)
    broken = [i for i, (_, kind) in enumerate(layout) if kind in ("truncated", "text")]
    assert result["failed"] >= len(broken) - (existing == "skip" and 0 in broken)
    assert len(plan.skipped) == sum(kind in ("link", "dangling") for _, kind in layout)
    for job in plan.jobs:  # every output is inside the folder, whole, or what was there before
        assert os.path.commonpath([out, job.output]) == str(out)
        data = open(job.output, "rb").read() if os.path.exists(job.output) else None  # noqa: SIM115
        assert data in (None, b"precious") or (data[:2] == b"\xff\xd8" and Image.open(job.output).format == "JPEG")
    if existing != "overwrite":
        assert (out / "0.jpg").read_bytes() == b"precious"
    assert not temp_files(base)

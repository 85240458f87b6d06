"""Every script in benchmarks/ is imported here and, where that takes a few seconds, run on a tiny input, so that none
rots. The figures themselves are BENCHMARKS.md's; nothing here measures them again (one test recomputes a table from
a committed results file). Scripts that need the shared data, libjxl's ``ssimulacra2`` or ``butteraugli_main``, or
an optional package skip with the reason when it is absent."""

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RDJPEG_SHARED", ROOT.parent / "shared"))  # as tests/conftest.py
BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"
KEPT = {
    "calibrate_quality", "default_speed", "fidelity", "gradient_point", "hosts", "judged", "lambda_fit",
    "gray_encoders",
    "look_holdout", "masking", "mozjpeg_backend", "pipeline_speed", "rate_bias", "ray_batch", "speed",
    "ssimulacra2_libjxl", "ssimulacra2_reference", "subsampling", "surrogates", "target_scale", "targets",
    "thumbor_load", "two_judges",
}  # fmt: skip


def load(name: str):
    """benchmarks/<name>.py as a module (its ``main`` not run)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def needs_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (set RDJPEG_SHARED)")
    return path


def needs_binary(name: str, env: str | None = None) -> str:
    path = os.environ.get(env, "") if env else ""
    path = path or shutil.which(name) or ""
    if not path:
        pytest.skip(f"libjxl's {name} binary not found" + (f" (set {env})" if env else ""))
    return path


@pytest.fixture
def photo(tmp_path) -> Path:
    """A 64×48 photo-like PNG (smooth colour and a little grain)."""
    rng = np.random.default_rng(0)
    base = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((64, 48), Image.BICUBIC)
    pixels = np.clip(np.asarray(base).astype(int) + rng.integers(-10, 11, (48, 64, 3)), 0, 255).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    return path


def test_every_script_is_covered_here():
    """A new script gets a test here (or is deleted: git history keeps it)."""
    assert {p.stem for p in BENCHMARKS.glob("*.py")} == KEPT


def test_every_result_file_is_cited_in_benchmarks_md():
    text = (ROOT / "BENCHMARKS.md").read_text()
    for path in RESULTS.glob("*.json"):
        assert f"benchmarks/results/{path.name}" in text, path.name


@pytest.mark.parametrize("name", sorted(KEPT))
def test_imports(name):
    assert callable(load(name).main)


def test_judged_reproduces_the_headline_from_its_records(capsys):
    """``judged.py`` on the committed records prints the "Headline, judged" figures (MSE pipeline: −8.4 % PSNR)."""
    load("judged").main([str(RESULTS / "kodak-judges.json"), "--anchors", "pillow", "--metrics", "psnr"])
    rows = {line.split(" | ")[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")}
    assert rows["| rdjpeg"].endswith("| -8.4 % |")  # in these records (issue 15) "rdjpeg" is the MSE pipeline
    assert rows["| mozjpeg"].endswith("| -17.5 % |")


def test_fidelity_is_bit_exact_on_a_small_photo(photo, capsys):
    pytest.importorskip("jpeglib", reason="jpeglib (the [dev] extra)")
    pytest.importorskip("kornia")
    assert load("fidelity").main(["--images", str(photo), "--qualities", "20,80", "--subsamplings", "4:2:0"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 4:2:0")]
    assert len(rows) == 2 and all("| ∞ | ∞ | 100.0 % | 100.0000 % |" in row for row in rows)


def test_mozjpeg_backend_matches_mozjpeg4(photo, capsys):
    pytest.importorskip("jpeglib", reason="jpeglib (the [dev] extra)")
    load("mozjpeg_backend").main(["--images", str(photo), "--qualities", "50", "--repeat", "1"])
    assert "decoded pixels identical in 1 of 1" in capsys.readouterr().out


def test_ssimulacra2_reference_runs(photo, tmp_path):
    pytest.importorskip("ssimulacra2", reason="the ssimulacra2 package (the [dev] extra)")
    out = tmp_path / "ss2.json"
    load("ssimulacra2_reference").main(["--images", str(photo), "--qualities", "50", "--json", str(out)])
    assert out.stat().st_size > 0


def test_ssimulacra2_libjxl_runs(photo, tmp_path):
    binary = needs_binary("ssimulacra2", "SSIMULACRA2_REFERENCE")
    out = tmp_path / "libjxl.json"
    load("ssimulacra2_libjxl").main(["--images", str(photo), "--reference", binary, "--qualities", "50",
                                     "--json", str(out)])  # fmt: skip
    assert out.stat().st_size > 0


def test_surrogates_runs(photo, monkeypatch, capsys):
    from rdjpeg.learned import simulator

    monkeypatch.setattr(simulator, "MASK_WIDTH", simulator.MASK_WIDTH)  # the script sets it per variant
    module = load("surrogates")
    assert set(module.VARIANTS) >= {"mask-proxy", "identity"}
    argv = ["--images", str(photo), "--qualities", "50", "--crop", "32", "--steps", "2", "--every", "1",
            "--variants", "mask-proxy@0.1,identity"]  # fmt: skip
    assert module.main(argv) == 0
    assert "| mask-proxy@0.1 |" in capsys.readouterr().out


def test_masking_runs(photo, tmp_path):
    out = tmp_path / "masking.json"
    load("masking").main(["--images", str(photo), "--settings", "fast:1:1:0.1", "--json", str(out)])
    result = json.loads(out.read_text())["results"][0]
    assert result["setting"] == "fast:1:1:0.1" and np.isfinite(result["bd_rate_psnr"])


def test_masking_picks_twelve_training_images():
    shared = needs_shared("data", "train")
    assert len(load("masking").training_images(str(shared.parents[1]))) == 12


def test_lambda_fit_collects_features_and_exact_lambdas(photo):
    import torch

    module = load("lambda_fit")
    x = torch.from_numpy(np.asarray(Image.open(photo)).copy()).permute(2, 0, 1)[None].float() / 255
    features, exact = module.collect([x, x], [30, 70], "mse")
    assert features.shape == (2, 2) and np.all(exact > 0)
    assert module.spearman(np.array([1.0, 2, 3]), np.array([10.0, 30, 20])) == pytest.approx(0.5)


def test_calibrate_quality_fits_a_map_from_cached_curves(photo, tmp_path):
    module = load("calibrate_quality")
    curve = module.curve(str(photo), "jpegli", [30, 80], gray=True)
    assert curve["ssimulacra2"][0] < curve["ssimulacra2"][1] and curve["bpp"][0] < curve["bpp"][1]
    pillow = {"ssimulacra2": list(np.linspace(20, 90, len(module.PILLOW_QUALITIES))), "bpp": []}
    jpegli = {"ssimulacra2": list(np.linspace(10, 95, len(module.ENCODER_QUALITIES))), "bpp": []}
    curves = tmp_path / "curves.json"
    curves.write_text(json.dumps({"gray": {"pillow": [pillow], "jpegli": [jpegli]}}))
    out = tmp_path / "map.json"
    module.main(["--shared", str(tmp_path), "--curves", str(curves), "--out", str(out)])
    gray = json.loads(out.read_text())["gray"]
    base, mean = gray["base"], gray["curve"]
    assert len(base) == 100 and base == sorted(base) and base[0] >= 1 and base[-1] <= 100
    assert gray["backend"] == "jpegli" and len(mean) == 100 and mean == sorted(mean) and mean[-1] == 95


def test_gray_encoders_reports_bd_rates_from_its_rows():
    """The report from made-up rows: jpegli 10 % smaller at every score on both judges."""
    module = load("gray_encoders")
    qualities = (30, 50, 70, 90)
    points = {q: {"ssimulacra2": 40 + q / 2, "butteraugli": 3 - q / 40} for q in qualities}
    codecs = {"mozjpeg": {str(q): {"bytes": 10 * q, **points[q]} for q in qualities},
              "jpegli": {str(q): {"bytes": 9 * q, **points[q]} for q in qualities}}  # fmt: skip
    row = {"path": "photo.png", "pixels": 1000, "codecs": codecs}
    figures = module.report([row, row])
    assert figures["photos"] == 2
    for value in figures["bd_rate_jpegli_vs_mozjpeg"].values():
        assert value == pytest.approx(-10, abs=0.1)


def test_gray_encoders_measures_a_photo(photo):
    """Both encoders on one small photo, both judges' binaries: only where both are installed."""
    reference = needs_binary("ssimulacra2", "SSIMULACRA2_REFERENCE")
    needs_binary("butteraugli_main")
    row = load("gray_encoders").measure(str(photo), reference, (50, 90))
    for name in ("jpegli", "mozjpeg"):
        low, high = row["codecs"][name][50], row["codecs"][name][90]
        assert low["bytes"] < high["bytes"] and low["ssimulacra2"] < high["ssimulacra2"], name
        assert low["butteraugli"] > high["butteraugli"], name


def test_default_speed_runs_its_quick_figures(photo, tmp_path):
    out = tmp_path / "speed.json"
    load("default_speed").main(["--photo", str(photo), "--images", str(photo), "--only", "save,transform,bytes",
                                "--rounds", "1", "--json", str(out)])  # fmt: skip
    assert set(json.loads(out.read_text())) >= {"save", "transform", "bytes"}


def test_pipeline_speed_options_and_its_child_script():
    import subprocess

    import rdjpeg

    module = load("pipeline_speed")
    for options in module.PIPELINES.values():
        rdjpeg.make_plan(75, **options)  # every pipeline it times is a valid one
    small = module.LARGE_SCRIPT.replace("(6000, 4000)", "(64, 48)")
    assert small != module.LARGE_SCRIPT
    run = subprocess.run([sys.executable, "-c", small, "{}"], capture_output=True, text=True, check=True)
    assert json.loads(run.stdout.strip().splitlines()[-1])["bytes"] > 0


def test_speed_times_one_network(capsys):
    spec = json.dumps({"channels": 32, "blocks": 1, "scale": 8, "channels_last": True, "big": False})
    assert load("speed").main(["--child", spec]) == 0
    assert json.loads(capsys.readouterr().out)["median_ms"] > 0


def test_ray_batch_times_compress(photo, tmp_path):
    seconds = load("ray_batch").run_compress(str(photo.parent), str(tmp_path / "out"), 1)[1]
    assert len(seconds) == 1  # one "…, N s" line per image, as the script parses it


def test_targets_encoders_and_previous_default(photo):
    module = load("targets")
    pixels = np.asarray(Image.open(photo))
    for name, encode in module.encoders().items():
        assert module.decoded(encode(pixels, 50)).shape == pixels.shape, name
    fit = {"base": [50] * 100, "intercept": [60.0] * 100, "slope": [0.0] * 100, "center": [0.0] * 100}
    assert module.decoded(module.previous_default(pixels, 75, fit)).shape == pixels.shape
    assert module.stats([1.0, 2.0, 3.0])["mean"] == pytest.approx(2.0)


def test_targets_measures_a_photo(photo):
    """A whole row (targets, fixed qualities, the default, JPEG inputs) with the judges' binaries: slow, so only
    where both are installed."""
    reference = needs_binary("ssimulacra2", "SSIMULACRA2_REFERENCE")
    needs_binary("butteraugli_main")
    module = load("targets")
    module.REFERENCE = reference
    fit = {"base": [50] * 100, "intercept": [60.0] * 100, "slope": [0.0] * 100, "center": [0.0] * 100}
    previous = photo.parent / "previous.json"
    previous.write_text(json.dumps({"rgb": fit}))
    row = module.measure(str(photo), str(previous))
    assert set(row["target"]) == set(module.TARGETS) and len(row["recompress"]) == len(module.RECOMPRESS)


def test_gradient_point_runs(capsys):
    needs_shared("data", "kodak", "kodim23.png")
    load("gradient_point").main(["--metric", "mse", "--images", "kodim23", "--qualities", "50", "--crop", "48",
                                 "--steps", "10", "--shared", str(SHARED)])  # fmt: skip
    assert "| kodim23 | 50 |" in capsys.readouterr().out


def test_rate_bias_runs(tmp_path, capsys):
    """On a folder of two training photos (the first is held out, as every 10th is), one crop at one quality."""
    for path in sorted(needs_shared("data", "train", "bsd200").glob("*.png"))[:2]:
        shutil.copy(path, tmp_path)
    weights = ROOT / "core" / "weights" / "prefilter-msssim.safetensors"
    load("rate_bias").main(["--weights", str(weights), "--data", str(tmp_path), "--crops", "1", "--qualities", "50"])
    assert "| 50 |" in capsys.readouterr().out


def test_target_scale_tiles_a_camera_size_photo(photo):
    tiled = load("target_scale").photo([str(photo)], height=100, width=150)
    assert tiled.shape == (100, 150, 3) and tiled.dtype == np.uint8


def test_hosts_writes_webdatasets_files_and_rdjpegs(photo):
    pytest.importorskip("webdataset", reason="WebDataset is not installed: pip install 'rdjpeg[webdataset]'")
    hosts = load("hosts")
    assert hosts.fit((768, 512), 640) == (640, 427)
    _, files, quality, pillow = hosts.webdataset_files(str(photo))
    assert quality == 100 and set(files) == {"stock", "rdjpeg", "rdjpeg_target80"}
    assert all(data[:2] == b"\xff\xd8" for data in (*files.values(), pillow(90)))


def test_thumbor_load_measures_a_request_and_a_process():
    thumbor_load = load("thumbor_load")
    assert thumbor_load.rss(os.getpid()) > 0
    status, seconds, size = thumbor_load.get("http://127.0.0.1:9/")  # the discard port: nothing answers
    assert status == 0 and size == 0 and seconds < 60


def test_subsampling_measures_and_reports(photo, monkeypatch, capsys):
    """Both stages on one small photo (two fixed qualities, one target, one default quality), then the report."""
    module = load("subsampling")
    for name, value in (("FIXED_QUALITIES", (90, 100)), ("TARGETS", (85,)), ("FLOORS", (85,)),
                        ("DEFAULT_QUALITIES", (90,))):  # fmt: skip
        monkeypatch.setattr(module, name, value)
    rows = {}
    for stage in ("fixed", "model"):
        row = json.loads(json.dumps(module.measure((str(photo), stage, ""))))
        rows[str(photo), stage] = row
    assert set(rows[str(photo), "fixed"]["4:4:4"]) == {"90", "100"}
    figures = module.report(rows)
    assert figures["photos"] == 1 and set(figures["default"][90]) >= {"bytes_chosen", "bytes_420", "share_444"}


def test_look_holdout_figures():
    """The spread figures and the BD-rate against jpegli at one quality, from made-up points."""
    from rdjpeg.look import QUALITIES

    module = load("look_holdout")
    points = {q: {"look": np.full(20, q * 0.9), "pillow": np.full(20, q * 0.85), "bpp": np.full(20, q / 40)}
              for q in module.HOLDOUT_QUALITIES}  # fmt: skip
    spread = module.spread_figures(points)
    assert spread[50]["p5_gain"] == pytest.approx(2.5) and spread[50]["mean_minus_pillow"] == pytest.approx(2.5)
    rows = [{"height": 10, "width": 10, "jpegli": {"bytes": [100 * q / 40 / 8 for q in QUALITIES],
                                                     "ssimulacra2": [q * 0.9 for q in QUALITIES]}}]  # fmt: skip
    assert module.bd_against_jpegli(points, rows) == pytest.approx(0, abs=0.5)


def test_two_judges_figures():
    """Floors on both judges from made-up rows: fixed jpegli at the bytes of target mode, and the quality whose 95th
    percentile of butteraugli is target mode's."""
    module = load("two_judges")
    qualities = module.CODECS["jpegli 4:2:0"]

    def cell(q: float, k: int) -> dict:
        return {"bytes": 1000 + 10 * q + k, "ssimulacra2": q - 5 + k, "butteraugli": 3 - q / 50 + 0.01 * k}

    rows = [{"path": str(k), "pixels": 100, "fixed": {"jpegli 4:2:0": {q: cell(q, k) for q in qualities}},
             "target": {80: {**cell(82, 0), "quality": 82, "encodes": 1, "seconds": 0.1,
                                "subsampling": "4:2:0"}}}
            for k in range(20)]  # fmt: skip
    same = module.fixed_at_bytes(rows, "jpegli 4:2:0", sum(r["target"][80]["bytes"] for r in rows))
    assert same["quality"] == pytest.approx(82 - 0.95, abs=0.01)  # the photos' 190 extra bytes, at 200 a quality
    assert module.worst([1, 2, 3, 4]) == 4 and module.lowest([1, 2, 3, 4]) == 1
    figures = module.report(rows)
    assert figures["targets"][80]["in_window"] == 0
    assert figures["floors"][80]["jpegli 4:2:0"]["quality"] == pytest.approx(84, abs=0.01)
    assert figures["butteraugli"][80]["jpegli 4:2:0 floor"]["quality"] == pytest.approx(91, abs=0.01)

"""The wheel holds every module: pyproject's explicit package list must name each package directory."""

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = set()
    for name, folder in setuptools["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            found.add(".".join([name, *init.parent.relative_to(ROOT / folder).parts]))
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
    assert "rdjpeg.weights" in listed  # data-only: the shipped weights
    data = setuptools["package-data"]["rdjpeg.weights"]
    assert {p.suffix for p in (ROOT / "core" / "weights").iterdir()} - {".py"} <= {Path(g).suffix for g in data}


def test_the_readme_sample_ships_and_compresses(tmp_path):
    """The README's first command needs nothing beside the checkout: the sample photo ships in the package."""
    from PIL import Image

    from rdjpeg.cli import main

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "rdjpeg.samples" in setuptools["packages"] and "*.png" in setuptools["package-data"]["rdjpeg.samples"]
    assert "core/samples/parrots.png" in (ROOT / "README.md").read_text().split("```")[1]
    assert main(["compress", str(ROOT / "core" / "samples" / "parrots.png"), "-o", str(tmp_path / "p.jpg"),
                 "-q", "50", "--quiet"]) == 0  # fmt: skip
    assert Image.open(tmp_path / "p.jpg").size == (320, 213)


def test_registering_the_host_plugins_does_not_import_torch():
    """`import rdjpeg_plugins` registers the Pillow format and the imageio plugin; torch loads on the first save."""
    import subprocess
    import sys

    code = ("import sys, rdjpeg_plugins; from PIL import Image; "
            "print('torch' in sys.modules, 'rdjpeg' in sys.modules, 'RDJPEG' in Image.SAVE)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "True"]


def test_import_rdjpeg_plugins_takes_under_300_ms():
    """``python -X importtime -c "import rdjpeg_plugins"``: the cumulative time of the package (best of three)."""
    import subprocess
    import sys

    def once() -> float:
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import rdjpeg_plugins"], capture_output=True,
                             text=True, check=True).stderr  # fmt: skip
        line = next(line for line in err.splitlines() if line.rstrip().endswith("| rdjpeg_plugins"))
        return int(line.split("|")[1]) / 1e6

    assert min(once() for _ in range(3)) <= 0.3

"""rdjpeg's optional extras (``pip install 'rdjpeg[NAME]'``): the modules each brings, and the error that names the
extra when one is missing. Looking is cheap: nothing is imported."""

from __future__ import annotations

import importlib.util

EXTRAS = {  # extra → the top-level modules it installs that rdjpeg imports (pyproject.toml lists the packages)
    "learned": ("torch", "kornia", "safetensors", "pytorch_msssim"),
    "torchvision": ("torch", "torchvision"),
    "ray": ("ray", "pyarrow"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # sys.modules[module] is None: imports of it are blocked
        return False


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that are not installed."""
    return [module for module in EXTRAS[extra] if not _installed(module)]


def require(extra: str, what: str) -> None:
    """ImportError naming ``extra`` when any of its modules is missing; ``what`` says what needed it."""
    absent = missing(extra)
    if absent:
        raise ImportError(f"{what} needs rdjpeg's {extra!r} extra ({', '.join(absent)} not installed): "
                          f"pip install 'rdjpeg[{extra}]'")  # fmt: skip

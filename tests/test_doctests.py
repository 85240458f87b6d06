"""Every docstring example in the packages runs, as part of the test command (``python -m pytest``)."""

import doctest
import importlib
import pkgutil

import pytest

import rdjpeg
import rdjpeg_plugins

# __main__ runs the command line when imported. A host's door imports its host (which may be absent, or, as Willow and
# sorl, need Django's settings) and changes it: each is tested with its host, in tests/test_host_<host>.py.
HOST_DOORS = {f"rdjpeg_plugins.{host}" for host in ("thumbor", "willow", "wagtail", "sorl", "webdataset")}
MODULES = sorted(
    info.name
    for package in (rdjpeg, rdjpeg_plugins)
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
    if not info.name.endswith("__main__") and ".".join(info.name.split(".")[:2]) not in HOST_DOORS
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_public_api_has_examples():
    finder = doctest.DocTestFinder()
    examples = sum(len(t.examples) for name in MODULES for t in finder.find(importlib.import_module(name)))
    assert examples >= 15, examples

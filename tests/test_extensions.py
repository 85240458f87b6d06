import torch

from rdjpeg.hookspecs import hookimpl
from rdjpeg.learned.metrics import Metric
from rdjpeg.registry import extension_manager, get_metric, metrics


class MeanAbsoluteError(Metric):
    name, higher_is_better = "mae", False

    def loss(self, x, y):
        return (x - y).abs().mean((1, 2, 3))

    score = loss


class ThirdParty:
    @hookimpl
    def rdjpeg_register_metrics(self, register):
        register(MeanAbsoluteError())


def test_third_party_metric_extension():
    pm = extension_manager()
    plugin = ThirdParty()
    pm.register(plugin, name="third-party-test")
    try:
        assert "mae" in metrics()
        assert get_metric("mae").score(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)).item() == 1
    finally:
        pm.unregister(plugin)
    assert "mae" not in metrics()


def test_registries_are_built_once_and_refreshed_on_registration():
    from rdjpeg.registry import backends, get_backend

    assert get_backend("mozjpeg") is get_backend("mozjpeg") and backends() is backends()
    before = metrics()
    plugin = ThirdParty()
    extension_manager().register(plugin, name="third-party-refresh")
    try:
        assert metrics() is not before and "mae" in metrics()
    finally:
        extension_manager().unregister(plugin)


def test_unknown_name_error():
    import pytest

    from rdjpeg.registry import UnknownNameError, get_backend

    with pytest.raises(UnknownNameError, match="unknown backend 'gif'; available: default, jpegli, mozjpeg, pillow"):
        get_backend("gif")
    with pytest.raises(ValueError):  # still a ValueError for callers that catch that
        get_metric("nope")


def test_load_extensions_env_selects_entry_points():
    """RDJPEG_LOAD_EXTENSIONS="" loads no third-party entry point; the built-ins always load."""
    import subprocess
    import sys

    code = ("from rdjpeg.registry import extension_manager, metrics; "
            "print(sorted(n for n, _ in extension_manager().list_name_plugin()), 'psnr' in metrics())")  # fmt: skip
    env = {**__import__("os").environ, "RDJPEG_LOAD_EXTENSIONS": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['builtins'] True"
    env["RDJPEG_LOAD_EXTENSIONS"] = "no-such-distribution"
    failed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert failed.returncode != 0 and "RDJPEG_LOAD_EXTENSIONS names 'no-such-distribution'" in failed.stderr


def test_mse_is_psnr_by_its_loss():
    from rdjpeg.registry import loss_name

    assert get_metric("mse") is get_metric("psnr")
    assert loss_name("psnr") == loss_name("mse") == "mse" and loss_name("msssim") == "msssim"

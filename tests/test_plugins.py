import torch

from rdjpeg.hookspecs import hookimpl
from rdjpeg.metrics import Metric
from rdjpeg.plugins import get_metric, metrics, plugin_manager


class MeanAbsoluteError(Metric):
    name, higher_is_better = "mae", False

    def loss(self, x, y):
        return (x - y).abs().mean((1, 2, 3))

    score = loss


class ThirdParty:
    @hookimpl
    def rdjpeg_register_metrics(self, register):
        register(MeanAbsoluteError())


def test_third_party_metric_plugin():
    pm = plugin_manager()
    plugin = ThirdParty()
    pm.register(plugin, name="third-party-test")
    try:
        assert "mae" in metrics()
        assert get_metric("mae").score(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)).item() == 1
    finally:
        pm.unregister(plugin)
    assert "mae" not in metrics()

"""The app's configuration: its own label (the package's last name, ``wagtail``, would read as Wagtail's)."""

from django.apps import AppConfig


class RdjpegWagtailConfig(AppConfig):
    name = "rdjpeg_plugins.wagtail"
    label = "rdjpeg_wagtail"
    verbose_name = "rdjpeg JPEG renditions"

    def ready(self) -> None:
        from .. import willow  # noqa: F401  registers Willow's save_as_jpeg on import

"""rdjpeg plugins for host pipelines. Importing this package registers the Pillow save format "RDJPEG" and the
imageio plugin "RDJPEG"; the torchvision transform lives in :mod:`rdjpeg_plugins.torchvision`."""

from . import imageio as _imageio
from . import pillow as _pillow

_pillow.register()
_imageio.register()

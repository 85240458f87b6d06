"""Writing outputs without ever leaving a partial file."""

from __future__ import annotations

import os
import tempfile

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".webp", ".gif")


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``.

    A failure (full disk, missing folder, interrupt) leaves no partial file and an existing ``path`` untouched.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".rdjpeg-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_safetensors(tensors: dict, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Tensors as a safetensors file (no pickle), written atomically."""
    from safetensors.torch import save  # torch: not for the callers of this module that write images only

    write_atomically(path, save({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, metadata))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

"""Files: finding the input images, and writing outputs without ever leaving a partial file."""

from __future__ import annotations

import glob
import os
import tempfile

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".webp", ".gif")


def find_images(item: str) -> list[tuple[str, str]]:
    """(path, name to mirror it under) of each image that ``item`` names, sorted.

    A folder: the image files (by suffix, :data:`IMAGE_SUFFIXES`) of its whole tree, named by their path inside it.
    A file: itself, named by its base name. Anything else is a glob (``**`` recurses): the files it matches, named by
    base name; none, when it matches nothing.
    """
    if os.path.isdir(item):
        paths = glob.glob(os.path.join(glob.escape(item), "**", "*"), recursive=True)
        return [(p, os.path.relpath(p, item)) for p in sorted(paths)
                if os.path.isfile(p) and p.lower().endswith(IMAGE_SUFFIXES)]  # fmt: skip
    if os.path.isfile(item):
        return [(item, os.path.basename(item))]
    return [(p, os.path.basename(p)) for p in sorted(glob.glob(item, recursive=True)) if os.path.isfile(p)]


def image_paths(items: list[str]) -> list[str]:
    """The paths of every image the items name (:func:`find_images`), each once, sorted."""
    return sorted({path for item in items for path, _ in find_images(item)})


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

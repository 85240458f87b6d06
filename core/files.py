"""Files: finding the input images, and writing outputs without ever leaving a partial file or replacing anything
but a regular file."""

from __future__ import annotations

import errno
import glob
import os
import stat
import tempfile
from dataclasses import dataclass, field

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".webp", ".gif")
TEMP_PREFIX = ".rdjpeg-"
EXISTING = ("error", "skip", "overwrite")  # what a batch does with an output that exists


@dataclass
class Found:
    """What a search for input images found: (path, name to mirror it under) pairs, and what it passed over."""

    images: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def find_images(item: str, follow_symlinks: bool = False) -> Found:
    """The images that ``item`` names, sorted.

    A folder: the image files (by suffix, :data:`IMAGE_SUFFIXES`) of its whole tree, named by their path inside it.
    Symbolic links inside it are passed over (and reported) unless ``follow_symlinks``; followed, a folder reached
    twice (by device and inode: a loop, or two links to one place) is walked once. A file: itself, named by its base
    name. Anything else is a glob (``**`` recurses): the files it matches, named by base name; none, when it matches
    nothing.
    """
    found = Found()
    if os.path.isdir(item):
        _walk(item, follow_symlinks, found)
    elif os.path.isfile(item):
        found.images.append((item, os.path.basename(item)))
    else:
        for path in sorted(glob.glob(item, recursive=True)):
            if os.path.isfile(path):
                found.images.append((path, os.path.basename(path)))
            elif os.path.islink(path):
                found.skipped.append((path, "a dangling symbolic link"))
    return found


def _walk(root: str, follow_symlinks: bool, found: Found) -> None:
    seen: set[tuple[int, int]] = set()
    for folder, folders, files in os.walk(root, followlinks=follow_symlinks):
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:
            found.skipped.append((folder, "a folder already walked (a symbolic-link loop or a second link to it)"))
            folders.clear()
            continue
        seen.add((st.st_dev, st.st_ino))
        folders.sort()
        for name in [*sorted(files), *(f for f in folders if os.path.islink(os.path.join(folder, f)))]:
            path = os.path.join(folder, name)
            if not follow_symlinks and os.path.islink(path):
                found.skipped.append((path, "a symbolic link (--follow-symlinks follows them)"))
            elif not os.path.exists(path):
                found.skipped.append((path, "a dangling symbolic link"))
            elif os.path.isfile(path):
                if path.lower().endswith(IMAGE_SUFFIXES):
                    found.images.append((path, os.path.relpath(path, root)))
                elif not name.startswith("."):
                    found.skipped.append((path, "not an image file name (" + ", ".join(IMAGE_SUFFIXES) + ")"))


def image_paths(items: list[str]) -> list[str]:
    """The paths of every image the items name (:func:`find_images`), each once, sorted."""
    return sorted({path for item in items for path, _ in find_images(item).images})


class NotARegularFile(OSError):
    """An output path names a folder, device, FIFO or socket: never replaced. (Not a FileExistsError: "exists" is
    what ``--existing`` decides about, and it never makes such a path writable.)"""


def check_output(path: str | os.PathLike) -> str:
    """The path to write for ``path``: itself, or the file a symbolic link points at. Raises unless that is a
    regular file or missing (a folder, device, FIFO or socket is never replaced) and its folder exists."""
    real = os.path.realpath(path)
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        kind = next((k for test, k in KINDS if test(mode)), "something that is not a regular file")
        raise NotARegularFile(f"refusing to replace {kind}: {os.fspath(path)}")
    if not os.path.isdir(os.path.dirname(real)):
        raise FileNotFoundError(errno.ENOENT, "the output's folder does not exist", os.path.dirname(real))
    return real


KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
         (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))  # fmt: skip


def write_atomically(path: str | os.PathLike, data: bytes, replace: bool = True) -> None:
    """Write ``data`` to a temporary file beside ``path``, then put it in place in one step.

    ``replace``: rename it over an existing regular file; otherwise link it into place, which fails with
    FileExistsError if ``path`` exists by then, so that two writers never both succeed. Anything but a regular file is
    never replaced (:func:`check_output`). A failure (full disk, missing folder, interrupt) leaves no partial file, no
    temporary file and an existing ``path`` untouched.
    """
    target = check_output(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=TEMP_PREFIX, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        if replace:
            check_output(path)  # checked again just before: it may have changed while the data was written
            os.replace(tmp, target)
        else:
            _create(tmp, target)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _create(tmp: str, target: str) -> None:
    """Put ``tmp`` at ``target`` if nothing is there, in one step; FileExistsError otherwise."""
    try:
        os.link(tmp, target)  # atomic create-if-absent
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: reserve the name, then rename over the reservation
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        os.replace(tmp, target)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

"""Compress a whole image store on Ray Data: ``rdjpeg compress`` beyond one machine.

The inputs (a local folder, file or glob, or a folder under any pyarrow file-system URI such as
``s3://bucket/photos``) become a Ray Dataset of jobs; a pool of actors, each building rdjpeg's pipeline once and
reading its images as binary files through pyarrow, encodes every image with ``rdjpeg compress``'s options and
writes it under the mirrored path of the output folder (atomically on a local file system). Outputs that exist are
skipped unless ``existing="overwrite"``, so a stopped job resumes. A bad input (corrupt, truncated, a decompression
bomb) becomes a "failed" row of the result table and never stops the others.

Needs ``pip install 'rdjpeg[ray]'``. Example (``integrations/ray_batch_compress.py`` is the runnable form)::

    import ray
    from rdjpeg.distributed import compress_on_ray

    ray.init()
    table = compress_on_ray("photos/", "web/", quality=75, workers=4)
"""

from __future__ import annotations

import io
import os
import time

from .compress import FILE_ERRORS, STATUSES, encode_file, one_line
from .files import EXISTING, IMAGE_SUFFIXES, find_images, write_atomically
from .plan import Plan, make_plan


def _filesystem(uri: str):
    """(pyarrow file system, path in it); local paths stay local."""
    from pyarrow import fs

    if "://" not in uri:
        return fs.LocalFileSystem(), os.path.abspath(uri)
    return fs.FileSystem.from_uri(uri)


def list_jobs(inputs: str, output: str, existing: str = "error") -> tuple[list[dict], list[dict]]:
    """(jobs to run as {"source", "target"}, rows for outputs that exist and are skipped or refused) for the images
    ``inputs`` names, mirrored under ``output``: a local folder, file or glob as for ``rdjpeg compress``
    (:func:`rdjpeg.files.find_images`), or every image file (by suffix) under a file-system URI."""
    from pyarrow import fs

    out_fs, out_root = _filesystem(output)
    if "://" in inputs:
        in_fs, root = _filesystem(inputs)
        infos = in_fs.get_file_info(fs.FileSelector(root, recursive=True))
        found = sorted((i.path, os.path.relpath(i.path, root)) for i in infos
                       if i.type == fs.FileType.File and i.path.lower().endswith(IMAGE_SUFFIXES))  # fmt: skip
    else:
        found = [(os.path.abspath(path), name) for path, name in find_images(inputs).images]
    jobs, done = [], []
    for source, relative in found:
        target = f"{out_root.rstrip('/')}/{os.path.splitext(relative)[0]}.jpg"
        if existing != "overwrite" and out_fs.get_file_info(target).type != fs.FileType.NotFound:
            status = "skipped" if existing == "skip" else "failed"
            done.append({"source": source, "target": target, "status": status, "bytes": 0, "seconds": 0.0,
                         "message": f"{target} exists" + ("" if status == "skipped" else " (existing='skip' or "
                                                          "'overwrite')")})  # fmt: skip
        else:
            jobs.append({"source": source, "target": target})
    return jobs, done


class Compressor:
    """A Ray Data actor: rdjpeg's pipeline built once per worker, then one image per row.

    Rows in: ``source`` and ``target`` (:func:`list_jobs`), read here as binary files through pyarrow; rows out:
    source, target, status ("ok", "skipped", "failed"), message, bytes written and seconds.
    """

    def __init__(self, inputs: str, output: str, plan: Plan, existing: str, keep_metadata: bool) -> None:
        self.plan, self.keep_metadata = plan, keep_metadata
        self.replace = existing == "overwrite"
        self.in_fs = _filesystem(inputs if "://" in inputs else "/")[0]
        self.out_fs = _filesystem(output)[0]
        self.local = type(self.out_fs).__name__ == "LocalFileSystem"
        from PIL import Image

        encode_file(io.BytesIO(_tiny_png(Image)), plan)  # loads the networks once, here

    def __call__(self, batch: dict) -> dict:
        rows = {key: [] for key in ("source", "target", "status", "message", "bytes", "seconds")}
        for source, target in zip(batch["source"], batch["target"], strict=True):
            start = time.perf_counter()
            try:
                with self.in_fs.open_input_file(source) as stream:
                    data = stream.read()
                encoded, message = encode_file(io.BytesIO(data), self.plan, self.keep_metadata)
                self._write(target, encoded.data)
                status, size = "ok", len(encoded.data)
            except FileExistsError:
                status, message, size = "skipped", f"{target} exists", 0
            except FILE_ERRORS as error:
                status, message, size = "failed", one_line(error), 0
            for key, value in zip(rows, (source, target, status, message, size, time.perf_counter() - start),
                                  strict=True):  # fmt: skip
                rows[key].append(value)
        return rows

    def _write(self, target: str, data: bytes) -> None:
        if self.local:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            write_atomically(target, data, replace=self.replace)
        else:  # an object store: one put, which readers see whole or not at all
            with self.out_fs.open_output_stream(target) as stream:
                stream.write(data)


def _tiny_png(Image) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "gray").save(buf, "PNG")
    return buf.getvalue()


def compress_on_ray(inputs: str, output: str, quality: int | None = None, workers: int = 2, existing: str = "error",
                    options: dict | None = None, keep_metadata: bool = True) -> list[dict]:  # fmt: skip
    """Compress every image under ``inputs`` into ``output`` on the running Ray cluster (``ray.init()`` first).

    Args:
        inputs: a local folder, file or glob, or a folder under a pyarrow file-system URI (``s3://…``, ``gs://…``).
        output: the output folder (local or a URI); the input tree is mirrored, each file as ``.jpg``.
        quality: JPEG quality (default 75).
        workers: actors, each with its own pipeline.
        existing: "error", "skip" or "overwrite": what to do with outputs that exist (resuming a job: "skip").
        options: :func:`rdjpeg.make_plan`'s options, as ``rdjpeg compress`` passes them (default: none, the default
            encoder); checked before any job starts.
        keep_metadata: carry EXIF and ICC profiles over.

    Returns:
        One row per input: source, target, status ("ok", "skipped", "failed"), message, bytes (and seconds).
    """
    import ray

    if existing not in EXISTING:
        raise ValueError(f"existing must be one of {EXISTING}, got {existing!r}")
    plan = make_plan(quality, **(options or {}))
    jobs, rows = list_jobs(inputs, output, existing)
    if not jobs:
        return rows
    # The actors read their inputs themselves (binary, through pyarrow): a separate read stage would need CPUs that
    # the actors hold, and would carry every image through the object store once more.
    results = ray.data.from_items(jobs).map_batches(
        Compressor, batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers),
        fn_constructor_args=(inputs, output, plan, existing, keep_metadata),
    )  # fmt: skip
    rows += [dict(row) for row in results.iter_rows()]
    return sorted(rows, key=lambda row: row["source"])


def summary(rows: list[dict]) -> str:
    counts = {status: sum(row["status"] == status for row in rows) for status in STATUSES}
    return f"{counts['ok']} written, {counts['skipped']} skipped, {counts['failed']} failed"

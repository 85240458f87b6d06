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

from .compress import STATUSES, Files, Job, Result, compress_one, exists, row
from .compress import summary as batch_summary
from .extras import require
from .files import EXISTING, IMAGE_SUFFIXES, find_images
from .plan import Plan, make_plan


def _filesystem(uri: str):
    """(pyarrow file system, path in it); local paths stay local."""
    from pyarrow import fs

    if "://" not in uri:
        return fs.LocalFileSystem(), os.path.abspath(uri)
    return fs.FileSystem.from_uri(uri)


class StoreFiles(Files):
    """A batch's files on pyarrow file systems: inputs read from ``inputs``' and outputs written to ``output``'s
    (atomically on a local one; one put, which readers see whole or not at all, on an object store)."""

    def __init__(self, inputs: str, output: str) -> None:
        self.in_fs = _filesystem(inputs if "://" in inputs else "/")[0]
        self.out_fs = _filesystem(output)[0]
        self.local = type(self.out_fs).__name__ == "LocalFileSystem"

    def read(self, path: str) -> bytes:
        with self.in_fs.open_input_file(path) as stream:
            return stream.read()

    def exists(self, path: str) -> bool:
        from pyarrow import fs

        return self.out_fs.get_file_info(path).type != fs.FileType.NotFound

    def write(self, path: str, data: bytes, replace: bool) -> None:
        if self.local:
            super().write(path, data, replace)
            return
        with self.out_fs.open_output_stream(path) as stream:
            stream.write(data)


def list_jobs(inputs: str, output: str, existing: str = "error") -> tuple[list[Job], list[dict]]:
    """(jobs to run, rows of those whose output exists and are skipped or refused) for the images ``inputs`` names,
    mirrored under ``output``: a local folder, file or glob as for ``rdjpeg compress``
    (:func:`rdjpeg.files.find_images`), or every image file (by suffix) under a file-system URI."""
    from pyarrow import fs

    out_root = _filesystem(output)[1]
    if "://" in inputs:
        in_fs, root = _filesystem(inputs)
        infos = in_fs.get_file_info(fs.FileSelector(root, recursive=True))
        found = sorted((i.path, os.path.relpath(i.path, root)) for i in infos
                       if i.type == fs.FileType.File and i.path.lower().endswith(IMAGE_SUFFIXES))  # fmt: skip
    else:
        found = [(os.path.abspath(path), name) for path, name in find_images(inputs).images]
    files, jobs, done = StoreFiles(inputs, output), [], []
    for source, relative in found:
        job = Job(source, f"{out_root.rstrip('/')}/{os.path.splitext(relative)[0]}.jpg")
        if existing != "overwrite" and files.exists(job.output):
            done.append(row(job, exists(job, existing)))
        else:
            jobs.append(job)
    return jobs, done


class Compressor:
    """A Ray Data actor: rdjpeg's pipeline built once per worker, then :func:`rdjpeg.compress.compress_one` for
    each row. Rows in: ``source`` and ``output`` (:func:`list_jobs`); rows out: :func:`rdjpeg.compress.row`'s."""

    def __init__(self, inputs: str, output: str, plan: Plan, existing: str, keep_metadata: bool) -> None:
        self.plan, self.existing, self.keep_metadata = plan, existing, keep_metadata
        self.files = StoreFiles(inputs, output)
        from PIL import Image

        png = io.BytesIO()
        Image.new("RGB", (16, 16), "gray").save(png, "PNG")
        plan.encode(Image.open(png))  # loads what the plan needs (a network, the look predictor) once, here

    def __call__(self, batch: dict) -> dict:
        rows = [row(job, compress_one(job, self.plan, self.existing, self.keep_metadata, files=self.files))
                for job in map(Job, batch["source"], batch["output"])]  # fmt: skip
        return {key: [r[key] for r in rows] for key in ("source", "output", *Result.__dataclass_fields__)}


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
        One row per input (:func:`rdjpeg.compress.row`): source, output, status ("ok", "skipped", "failed"),
        message, bytes, seconds, and how the file was chosen.
    """
    require("ray", "rdjpeg.distributed")
    import ray

    if existing not in EXISTING:
        raise ValueError(f"existing must be one of {EXISTING}, got {existing!r}")
    plan = make_plan(quality, **(options or {}))
    jobs, rows = list_jobs(inputs, output, existing)
    if not jobs:
        return rows
    # The actors read their inputs themselves (binary, through pyarrow): a separate read stage would need CPUs that
    # the actors hold, and would carry every image through the object store once more.
    results = ray.data.from_items([vars(job) for job in jobs]).map_batches(
        Compressor, batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers),
        fn_constructor_args=(inputs, output, plan, existing, keep_metadata),
    )  # fmt: skip
    rows += [dict(row) for row in results.iter_rows()]
    return sorted(rows, key=lambda row: row["source"])


def summary(rows: list[dict]) -> str:
    """The line "N written, N skipped, N failed" for :func:`compress_on_ray`'s rows."""
    return batch_summary({status: sum(r["status"] == status for r in rows) for status in STATUSES}, len(rows))

"""``rdjpeg compress``: many inputs (files, globs, folder trees) → RD-optimized JPEGs, in parallel, never losing data.

Each output is encoded completely in memory and written atomically (temporary file + rename), so a failed or
interrupted job leaves no partial file and an existing output untouched. An existing output is an error unless
``--existing skip`` or ``--existing overwrite`` says otherwise.
"""

from __future__ import annotations

import io
import os
import sys
import time
from concurrent.futures import as_completed
from dataclasses import dataclass

from PIL import Image
from tqdm import tqdm

from .files import find_images, write_atomically
from .images import jpeg_mode
from .pipeline import encode, encode_to_size
from .plugins import get_backend
from .runtime import worker_pool

EXISTING = ("error", "skip", "overwrite")
STDIO = "-"  # stdin as the input, stdout as the output


@dataclass(frozen=True)
class Job:
    source: str
    target: str


def plan_jobs(inputs: list[str], output: str) -> list[Job]:
    """Map inputs to output paths; raises ValueError for usage errors (nothing is written).

    A single input file and an output that is not an existing folder: write exactly ``output``. Otherwise ``output``
    is a folder (created if needed); files go there by name, and a folder tree's files keep their relative paths.
    ``-`` as the one input reads the image from stdin, and as the output of one input writes the JPEG to stdout.
    """
    if STDIO in inputs and len(inputs) > 1:
        raise ValueError("'-' (stdin) must be the only input")
    if output == STDIO and (
        len(inputs) != 1 or os.path.isdir(inputs[0]) or not (inputs[0] == STDIO or os.path.isfile(inputs[0]))
    ):
        raise ValueError("'-o -' (stdout) takes exactly one input image")  # fmt: skip
    if inputs == [STDIO]:
        if output != STDIO and os.path.isdir(output):
            raise ValueError("with '-' (stdin) as the input, -o names a file or '-', not a folder")
        return [Job(STDIO, output)]
    found: list[tuple[str, str]] = []  # (source, path relative to the output folder)
    for item in inputs:
        matches = find_images(item)
        if not matches and not os.path.isdir(item):
            raise ValueError(f"no such file, folder or matching files: {item!r}")
        found += matches
    if not found:
        raise ValueError(f"no images found in {inputs}")
    single = len(inputs) == 1 and os.path.isfile(inputs[0]) and not os.path.isdir(output)
    if single and output == STDIO:
        return [Job(found[0][0], STDIO)]
    if single:
        folder = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(folder):
            raise ValueError(f"the output's folder does not exist: {folder}")
        return [Job(found[0][0], output)]
    jobs, seen = [], {}
    for source, relative in found:
        target = os.path.join(output, os.path.splitext(relative)[0] + ".jpg")
        if target in seen:
            raise ValueError(f"{source} and {seen[target]} would both be written to {target}")
        seen[target] = source
        jobs.append(Job(source, target))
    return jobs


def compress_one(job: Job, quality: int | None, options: dict, existing: str, keep_metadata: bool = True):
    """(status, message, bytes, seconds) for one job; status is "ok", "skipped" or "failed". Never raises for
    per-file problems (bad image, unwritable folder): they become "failed" with the reason. EXIF and ICC profile
    are carried over when ``keep_metadata`` and the backend (Pillow, mozjpeg) can write them."""

    start = time.perf_counter()
    if job.target != STDIO and os.path.exists(job.target) and existing != "overwrite":
        if existing == "skip":
            return "skipped", f"{job.target} exists", 0, 0.0
        return "failed", f"{job.target} exists (use --existing skip|overwrite)", 0, 0.0
    try:
        with Image.open(io.BytesIO(sys.stdin.buffer.read()) if job.source == STDIO else job.source) as original:
            keep = keep_metadata and {"exif", "icc_profile"} <= get_backend(options.get("backend", "pillow")).options
            metadata = {k: original.info[k] for k in ("exif", "icc_profile") if keep and original.info.get(k)}
            image = jpeg_mode(original)
        options = dict(options)
        max_bytes = options.pop("max_bytes", None)
        if max_bytes is None:
            data, chosen = encode(image, quality, **options, **metadata), ""
        else:
            data, q = encode_to_size(image, max_bytes, quality, **options, **metadata)
            chosen = f", quality {q}"
        if job.target == STDIO:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            os.makedirs(os.path.dirname(os.path.abspath(job.target)), exist_ok=True)
            write_atomically(job.target, data)
    except (OSError, ValueError, ImportError, Image.DecompressionBombError) as error:
        return "failed", str(error), 0, time.perf_counter() - start
    bpp = 8 * len(data) / (image.width * image.height)
    return "ok", f"{len(data)} bytes, {bpp:.3f} bpp{chosen}", len(data), time.perf_counter() - start


def run_jobs(jobs: list[Job], quality: int | None, options: dict, existing: str = "error", workers: int = 1,
             progress: bool = True, keep_metadata: bool = True, log=print) -> dict[str, int]:  # fmt: skip
    """Compress every job (in ``workers`` processes); returns counts of ok / skipped / failed."""
    if existing not in EXISTING:
        raise ValueError(f"existing must be one of {EXISTING}, got {existing!r}")
    counts = {"ok": 0, "skipped": 0, "failed": 0}
    bar = tqdm(total=len(jobs), unit="image", desc="compress", disable=not progress, file=sys.stderr)

    def report(job: Job, result: tuple[str, str, int, float]) -> None:
        status, message, _, seconds = result
        counts[status] += 1
        line = f"{job.source} -> {job.target}: {message}" + (f", {seconds:.1f} s" if status == "ok" else "")
        if status == "failed":
            tqdm.write(f"rdjpeg: error: {job.source}: {message}", file=sys.stderr)
        elif progress:
            tqdm.write(("skipped " if status == "skipped" else "") + line, file=sys.stderr)
        else:
            log(("skipped " if status == "skipped" else "") + line)
        bar.update()

    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            report(job, compress_one(job, quality, options, existing, keep_metadata))
    else:
        with worker_pool(workers) as pool:
            futures = {pool.submit(compress_one, job, quality, options, existing, keep_metadata): job for job in jobs}
            for future in as_completed(futures):
                report(futures[future], future.result())
    bar.close()
    return counts

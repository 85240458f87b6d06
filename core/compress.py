"""``rdjpeg compress``: many inputs (files, globs, folder trees) → RD-optimized JPEGs, in parallel, never losing data.

Each output is encoded completely in memory and written atomically (temporary file, then one rename or link), so a
failed or interrupted job leaves no partial file, no temporary file and an existing output untouched; only a regular
file is ever replaced. An existing output is an error unless ``--existing skip`` or ``--existing overwrite`` says
otherwise, and that holds when two runs write into one folder at once: an output is linked into place, which fails if
the name exists. The first Ctrl-C or SIGTERM stops the batch within a second or two (images being encoded are
abandoned, their temporary files removed) and it reports what was written, skipped, failed and not started.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from PIL import Image

from .files import EXISTING, find_images, write_atomically
from .images import jpeg_mode
from .plan import Plan
from .registry import get_backend
from .runtime import Interrupted, exit_if_stopped, stop_on_signals, worker_pool
from .targets import Encoded

STDIO = "-"  # stdin as the input, stdout as the output
STATUSES = ("ok", "skipped", "failed")


@dataclass(frozen=True)
class Job:
    """One input file and the path its JPEG is written to."""

    source: str
    output: str


@dataclass(frozen=True)
class Result:
    """How one job ended (a row of ``--report``): status "ok", "skipped" or "failed", a one-line message, and for a
    written file its size, the seconds it took and how it was chosen (:class:`rdjpeg.targets.Encoded`)."""

    status: str
    message: str
    bytes: int = 0
    seconds: float = 0.0
    quality: int | None = None
    score: float | None = None
    reached: bool | None = None
    lossless: bool = False


@dataclass
class Batch:
    """The jobs to run, and the inputs passed over with their reasons."""

    jobs: list[Job] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def plan_jobs(inputs: list[str], output: str, follow_symlinks: bool = False) -> Batch:
    """Map inputs to output paths; raises ValueError for usage errors (nothing is written).

    A single input file and an output that is not an existing folder: write exactly ``output``. Otherwise ``output``
    is a folder (created if needed); files go there by name, and a folder tree's files keep their relative paths.
    ``-`` as the one input reads the image from stdin, and as the output of one input writes the JPEG to stdout.
    Symbolic links inside input folders are passed over unless ``follow_symlinks`` (:func:`rdjpeg.files.find_images`).
    """
    if STDIO in inputs and len(inputs) > 1:
        raise ValueError("'-' (stdin) must be the only input")
    one_file = len(inputs) == 1 and (inputs[0] == STDIO or os.path.isfile(inputs[0]))
    if output == STDIO and not one_file:
        raise ValueError("'-o -' (stdout) takes exactly one input image")
    if inputs == [STDIO]:
        if output != STDIO and os.path.isdir(output):
            raise ValueError("with '-' (stdin) as the input, -o names a file or '-', not a folder")
        return Batch([Job(STDIO, output)])
    batch, found = Batch(), []
    for item in inputs:
        result = find_images(item, follow_symlinks)
        if not result.images and not result.skipped and not os.path.isdir(item):
            raise ValueError(f"no such file, folder or matching files: {item!r}")
        found += result.images
        batch.skipped += result.skipped
    if not found:
        raise ValueError(f"no images found in {inputs}")
    if one_file and not os.path.isdir(output):
        folder = os.path.dirname(os.path.abspath(output))
        if output != STDIO and not os.path.isdir(folder):
            raise ValueError(f"the output's folder does not exist: {folder}")
        return Batch([Job(found[0][0], output)], batch.skipped)
    root, seen = os.path.abspath(output), {}
    for source, relative in found:
        path = os.path.join(output, os.path.splitext(relative)[0] + ".jpg")
        if os.path.commonpath([root, os.path.abspath(path)]) != root:
            raise ValueError(f"{source} would be written outside {output}")
        if path in seen:
            raise ValueError(f"{source} and {seen[path]} would both be written to {path}")
        seen[path] = source
        batch.jobs.append(Job(source, path))
    return batch


class Files:
    """Where a batch reads its inputs and writes its outputs: here, the local file system, with ``-`` for stdin and
    stdout; outputs are written atomically and only a regular file is replaced (:func:`rdjpeg.files.write_atomically`).
    The Ray path reads and writes a pyarrow file system instead (:class:`rdjpeg.distributed.StoreFiles`)."""

    def read(self, path: str) -> bytes:
        if path == STDIO:
            return sys.stdin.buffer.read()
        with open(path, "rb") as f:
            return f.read()

    def exists(self, path: str) -> bool:
        return path != STDIO and os.path.lexists(path)

    def write(self, path: str, data: bytes, replace: bool) -> None:
        """``data`` as ``path``; FileExistsError when it exists and ``replace`` is False."""
        if path == STDIO:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_atomically(path, data, replace=replace)


LOCAL_FILES = Files()


def compress_one(job: Job, plan: Plan, existing: str, keep_metadata: bool = True, max_pixels: int | None = None,
                 files: Files = LOCAL_FILES) -> Result:  # fmt: skip
    """The :class:`Result` of one job: what ``rdjpeg compress`` and the Ray path do for each file. Never raises for
    per-file problems (bad image, too many pixels, not enough memory, a broken weights file, an unwritable folder):
    they become "failed" with a one-line reason. EXIF and ICC profile are carried over when ``keep_metadata`` and the
    plan's backend can write them. ``max_pixels``: larger images fail before they are decoded."""
    exit_if_stopped()
    start = time.perf_counter()
    if existing != "overwrite" and files.exists(job.output):
        return exists(job, existing)
    try:
        encoded, message = encode_file(files.read(job.source), plan, keep_metadata, max_pixels)
        files.write(job.output, encoded.data, replace=existing == "overwrite")
    except FileExistsError:
        return exists(job, existing)  # another writer created it meanwhile: the same answer as before
    except FILE_ERRORS as error:
        reason = one_line(error)
        if isinstance(error, MemoryError):  # this image alone: nothing is written, the batch goes on
            reason = f"not enough memory for this image ({reason})"
        return Result("failed", reason, seconds=time.perf_counter() - start)
    measured = plan.target is not None and encoded.score is not None
    return Result("ok", message, len(encoded.data), time.perf_counter() - start, encoded.quality, encoded.score,
                  encoded.reached if measured else None, encoded.lossless)  # fmt: skip


FILE_ERRORS = (OSError, ValueError, ImportError, RuntimeError, MemoryError, Image.DecompressionBombError)


def one_line(error: BaseException) -> str:
    """An exception as one line of text: what a batch reports for a file that failed."""
    return " ".join(str(error).split()) or type(error).__name__


def exists(job: Job, existing: str) -> Result:
    """The result of a job whose output exists, by the ``existing`` policy ("skip" or "error")."""
    if existing == "skip":
        return Result("skipped", f"{job.output} exists")
    return Result("failed", f"{job.output} exists (use --existing skip|overwrite)")


def row(job: Job, result: Result) -> dict:
    """A job and how it ended, as one row of a report table."""
    return {"source": job.source, "output": job.output, **vars(result)}


def summary(counts: dict[str, int], total: int) -> str:
    """The line "N written, N skipped, N failed[, N not started]" for a batch of ``total`` jobs."""
    not_started = total - sum(counts.values())
    return (f"{counts['ok']} written, {counts['skipped']} skipped, {counts['failed']} failed"
            + (f", {not_started} not started" if not_started else ""))  # fmt: skip


KEPT_METADATA = ("exif", "icc_profile")  # what a compressed file carries over from its source


def encode_file(data: bytes, plan: Plan, keep_metadata: bool = True,
                max_pixels: int | None = None) -> tuple[Encoded, str]:  # fmt: skip
    """(the file, "N bytes, bpp, …" message) of the image file ``data`` with ``plan``: what one job does before
    writing (:func:`compress_one`). A JPEG input never grows (:meth:`rdjpeg.Plan.encode`'s ``source``)."""
    with Image.open(io.BytesIO(data)) as original:
        pixels = original.width * original.height
        if max_pixels is not None and pixels > max_pixels:  # the header only: nothing decoded yet
            raise ValueError(f"{original.width}×{original.height} = {pixels:,} pixels, over the limit of "
                             f"{max_pixels:,} (--max-pixels)")  # fmt: skip
        keep = keep_metadata and set(KEPT_METADATA) <= get_backend(plan.backend).options
        metadata = {k: original.info[k] for k in KEPT_METADATA if keep and original.info.get(k)}
        jpeg = original.format == "JPEG" and original.mode in ("RGB", "L")
        image = jpeg_mode(original)
    encoded = plan.encode(image, metadata=metadata, source=data if jpeg else None)
    return encoded, describe(encoded, plan, pixels)


def describe(encoded: Encoded, plan: Plan, pixels: int) -> str:
    """The line a batch prints for a written file."""
    parts = [f"{len(encoded.data)} bytes", f"{8 * len(encoded.data) / pixels:.3f} bpp"]
    if encoded.lossless:
        parts.append("the input, losslessly optimized (no re-encode was smaller)")
    elif plan.max_bytes is not None or plan.target is not None:
        parts.append(f"quality {encoded.quality}")
    if plan.target is not None and encoded.score is None:
        parts.append(f"{plan.target.metric} unmeasured (too small an image for a score)")
    elif plan.target is not None:
        below = "" if encoded.reached else f" (below the target {plan.target.value:g})"
        parts.append(f"{plan.target.metric} {encoded.score:.2f}{below}")
    return ", ".join(parts)


@dataclass
class Report:
    """Counts and the lines a batch writes as its jobs end."""

    progress: bool
    log: Callable[[str], None]
    total: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))

    rows: list[tuple[Job, Result]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bar = None
        if self.progress:  # tqdm loads only for a bar (its import is a fifth of a one-file batch's start)
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="image", desc="compress", file=sys.stderr)

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def __call__(self, job: Job, result: Result) -> None:
        self.counts[result.status] += 1
        self.rows.append((job, result))
        line = f"{job.source} -> {job.output}: {result.message}" + (f", {result.seconds:.1f} s"
                                                                    if result.status == "ok" else "")  # fmt: skip
        if result.status == "failed":
            self.write(f"rdjpeg: error: {job.source}: {result.message}")
        elif self.progress:
            self.write(("skipped " if result.status == "skipped" else "") + line)
        else:
            self.log(("skipped " if result.status == "skipped" else "") + line)
        if self.bar is not None:
            self.bar.update()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def table(self, path: str) -> None:
        """Every finished job's :class:`Result` as CSV or JSON (by ``path``'s suffix), written atomically."""
        rows = [row(job, result) for job, result in self.rows]
        if path.lower().endswith(".json"):
            data = json.dumps(rows, indent=1) + "\n"
        else:
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=["source", "output", *Result.__dataclass_fields__])
            writer.writeheader()
            writer.writerows(rows)
            data = out.getvalue()
        write_atomically(path, data.encode())

    def summary(self) -> str:
        return summary(self.counts, self.total)


def run_jobs(jobs: list[Job], plan: Plan, existing: str = "error", workers: int = 1, progress: bool = True,
             keep_metadata: bool = True, log=print, max_pixels: int | None = None,
             table: str | None = None) -> dict:  # fmt: skip
    """Compress every job with ``plan`` (in ``workers`` processes when it edits, else threads); returns counts of
    ok / skipped / failed (and "signal": the number of the signal that stopped the batch, when one did:
    :class:`rdjpeg.runtime.Interrupted`). ``table``: a CSV or JSON file of every finished job, written at the end
    (also when a signal stops the batch)."""
    if existing not in EXISTING:
        raise ValueError(f"existing must be one of {EXISTING}, got {existing!r}")
    report = Report(progress, log, len(jobs))
    arguments = (plan, existing, keep_metadata, max_pixels)
    try:
        with stop_on_signals():
            if workers <= 1 or len(jobs) == 1:
                for job in jobs:
                    report(job, compress_one(job, *arguments))
            else:
                _run_in_pool(jobs, arguments, workers, report)
    except Interrupted as stop:
        return {**report.counts, "signal": stop.signum, "summary": report.summary()}
    finally:
        report.close()
        if table is not None:
            report.table(table)
    return {**report.counts, "summary": report.summary()}


def _run_in_pool(jobs: list[Job], arguments: tuple, workers: int, report: Report) -> None:
    # An unedited pipeline is the encoders' C code, which releases the GIL (BENCHMARKS.md "The default"): threads,
    # without the second a spawned worker takes to start.
    pool = worker_pool(workers) if arguments[0].edits else ThreadPoolExecutor(workers)
    try:
        futures = {pool.submit(compress_one, job, *arguments): job for job in jobs}
        for future in as_completed(futures):
            report(futures[future], future.result())
    except BaseException:
        # Stop at once: nothing new starts, and the workers abandon what they encode (their handlers remove temp files).
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        raise
    pool.shutdown()

"""Process-wide runtime settings."""

from __future__ import annotations

import os

import torch


def set_default_threads() -> int:
    """Use ``$OMP_NUM_THREADS`` if set, else at most 2 threads (this project's machines have 2 cores).

    Two processes that each use every core oversubscribe the CPU, and OpenMP's spin-waiting then makes both many
    times slower (BENCHMARKS.md). Give each concurrent job
    ``OMP_NUM_THREADS=1``.
    """
    threads = int(os.environ.get("OMP_NUM_THREADS") or min(2, os.cpu_count() or 1))
    torch.set_num_threads(threads)
    return threads

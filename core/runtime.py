"""Worker processes that share the CPU with each other and with the user's own thread settings."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import torch


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` processes that together use the threads this process may use (``torch.get_num_threads()``: the
    user's ``OMP_NUM_THREADS`` or ``torch.set_num_threads``). Processes that each use every core oversubscribe the
    CPU, and OpenMP's spin-waiting then makes all of them many times slower (BENCHMARKS.md, issue 16).

    Spawned, not forked: a fork after torch has started its threads can deadlock.
    """
    threads = max(1, torch.get_num_threads() // workers)
    return ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker,
                               initargs=(threads,))  # fmt: skip

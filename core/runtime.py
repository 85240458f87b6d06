"""Processes: worker pools that share the CPU with the user's own thread settings, stop on the first signal and never
outlive their parent."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

PARENT_POLL_SECONDS = 0.5
KILL_AFTER_SECONDS = 3.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A stop signal (Ctrl-C: SIGINT, or SIGTERM) arrived; ``signum`` says which. A BaseException, like
    KeyboardInterrupt, so that per-file error handling does not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` in the main thread (so that ``finally`` blocks
    run and temporary files go); the previous handlers come back after. Elsewhere than the main thread: nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Interrupted(signum)

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


_stopping = threading.Event()


def _exit_on_sigterm(signum, frame) -> None:
    _stopping.set()
    raise SystemExit(128 + signum)  # unwinds: finally blocks remove temporary files


def exit_if_stopped() -> None:
    """In a worker told to stop: end the process now, before the next job starts (the pool would otherwise run every
    job already queued to it)."""
    if _stopping.is_set():
        os._exit(128 + signal.SIGTERM)


def _init_worker(threads: int, parent: int) -> None:
    import torch  # the pools run the learned pipelines and evaluation: torch's threads, shared out

    torch.set_num_threads(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    signal.signal(signal.SIGTERM, _exit_on_sigterm)

    def watch_parent() -> None:  # a worker whose parent died (even by SIGKILL) stops itself
        while os.getppid() == parent:
            threading.Event().wait(PARENT_POLL_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)  # unwinds the main thread: temporary files go
        threading.Event().wait(KILL_AFTER_SECONDS)
        os._exit(128 + signal.SIGTERM)  # the main thread did not end (blocked in C): end regardless

    threading.Thread(target=watch_parent, daemon=True, name="rdjpeg-watch-parent").start()


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` processes that together use the threads this process may use (``torch.get_num_threads()``: the
    user's ``OMP_NUM_THREADS`` or ``torch.set_num_threads``). Processes that each use every core oversubscribe the
    CPU, and OpenMP's spin-waiting then makes all of them many times slower (BENCHMARKS.md, issue 16). The workers
    ignore Ctrl-C (the parent stops them), end on SIGTERM through their ``finally`` blocks, and end within
    ``PARENT_POLL_SECONDS`` when the parent dies.

    Spawned, not forked: a fork after torch has started its threads can deadlock.
    """
    from concurrent.futures import ProcessPoolExecutor  # here: the default path, in threads, never needs them
    from multiprocessing import get_context

    import torch

    threads = max(1, torch.get_num_threads() // workers)
    return ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker,
                               initargs=(threads, os.getpid()))  # fmt: skip

"""What every rdjpeg trainer shares: the loop with periodic validation, the warm-up + cosine schedule, checkpoints
that resume, atomic writes and the DistributedDataParallel setup.

A run folder holds ``checkpoint.pt`` (model, optimizer, schedule, step, best score and the configuration: a resume
with another configuration is refused), ``log.jsonl`` (one record per validation) and the best weights, which the
trainer writes through ``save_best``. Every file is written to a temporary name and renamed, so an interrupted run
never leaves half a file.
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn

from ...files import write_atomically


def warmup_cosine(optimizer: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over the first 2 % of ``steps``, then cosine decay to 0 at ``steps``."""
    warmup, decay = max(1, steps // 50), max(1, steps)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: min(1, (i + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(i, decay) / decay))
    )


def distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device); initializes the process group under torchrun (NCCL on GPU, gloo on CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    return (dist.get_rank(), world, device) if world > 1 else (0, 1, device)


def end_distributed() -> None:
    """Wait for every rank, then close the process group."""
    dist.barrier()
    dist.destroy_process_group()


@dataclass
class Run:
    """One training run in ``folder``: resumes from its checkpoint and runs the loop.

    Attributes:
        folder: the run's folder (created).
        model: the module whose state is checkpointed (not its DDP wrapper).
        optimizer, schedule: checkpointed with it.
        steps: the last step.
        val_every: steps between validations (and checkpoints).
        config: JSON-able settings; a checkpoint written with other settings is refused.
        minutes: stop after this many minutes, resumably (at the next validation under DDP).
        rank, world: this process's rank and the world size; rank 0 validates and writes.
        log: where progress lines go.
    """

    folder: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    steps: int
    val_every: int
    config: dict = field(default_factory=dict)
    minutes: float | None = None
    rank: int = 0
    world: int = 1
    log: Callable = print
    step: int = 0
    best: float = math.inf

    def __post_init__(self) -> None:
        os.makedirs(self.folder, exist_ok=True)
        self.checkpoint = os.path.join(self.folder, "checkpoint.pt")

    def resume(self, device: torch.device | str = "cpu") -> bool:
        """Load the checkpoint if there is one; True if it did."""
        if not os.path.isfile(self.checkpoint):
            return False
        state = torch.load(self.checkpoint, map_location=device, weights_only=True)
        if state.get("config", {}) != self.config:
            raise ValueError(f"{self.checkpoint} was written with a different configuration; use a new folder")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.step, self.best = state["step"], state["best"]
        self.log(f"resumed at step {self.step}")
        return True

    def record(self, record: dict) -> None:
        """Append to ``log.jsonl`` and show it (rank 0 only)."""
        if self.rank == 0:
            with open(os.path.join(self.folder, "log.jsonl"), "a") as f:
                f.write(json.dumps(record) + "\n")
            self.log(record)

    def _save_checkpoint(self) -> None:
        buffer = io.BytesIO()
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "best": self.best,
                 "schedule": self.schedule.state_dict(), "step": self.step, "config": self.config}  # fmt: skip
        torch.save(state, buffer)
        write_atomically(self.checkpoint, buffer.getvalue())

    def train(self, step: Callable[[], float], validate: Callable[[], tuple[dict, float]],
              save_best: Callable[[], None]) -> None:  # fmt: skip
        """Run from the current step to ``steps``.

        Args:
            step: one optimization step (forward, backward, optimizer and schedule); returns the loss.
            validate: (record to log, score; lower is better), run on rank 0 every ``val_every`` steps and at the end.
            save_best: writes the weights when the score is the best so far.
        """
        start, losses = time.time(), []
        while self.step < self.steps:
            losses.append(step())
            self.step += 1
            out_of_time = self.minutes is not None and time.time() - start > 60 * self.minutes
            due = self.step % self.val_every == 0 or self.step == self.steps
            if not due and not (out_of_time and self.world == 1):  # under DDP every rank stops at one step
                continue
            if self.rank == 0:
                record, score = validate()
                self.record({"step": self.step, "loss": float(sum(losses) / len(losses)), **record,
                             "seconds": round(time.time() - start), "lr": self.schedule.get_last_lr()[0]})  # fmt: skip
                if score < self.best:
                    self.best = score
                    save_best()
                self._save_checkpoint()
            losses = []
            if self.world > 1:
                stop = torch.tensor([out_of_time], dtype=torch.int32, device=next(self.model.parameters()).device)
                dist.all_reduce(stop)
                out_of_time = bool(stop.item())
            if out_of_time:
                self.log(f"stopping after {self.minutes} minutes at step {self.step}; run again to resume")
                break

    @property
    def finished(self) -> bool:
        return self.step >= self.steps

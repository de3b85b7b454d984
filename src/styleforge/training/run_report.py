"""What a run reports to its caller: where it stands after each step, and what it left.

Plain frozen records below the trainer, so the API, the CLI and a user's callback can name them
without the training loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TrainResult:
    """What a finished (or Ctrl-C'd, checkpointed) run left: its folder and its model file."""

    run_dir: Path
    model_path: Path  # run_dir / model.safetensors: what `Stylizer.load` opens
    steps: int
    seconds: float  # of training, resumed runs' earlier time included
    interrupted: bool


@dataclass(frozen=True)
class TrainProgress:
    """Where a run stands after a step, as the `progress` callback of `Trainer.run` sees it."""

    step: int  # steps done (after a rollback it goes back)
    total_steps: int | None  # None: the time budget alone ends the run
    seconds: float  # of training so far
    budget_seconds: float | None  # None: the step count alone ends the run
    fraction: float  # 0..1 of the run, whichever of steps and time is further on
    losses: dict[str, float]  # this step's losses; {} for a skipped (non-finite) step


ProgressCallback = Callable[[TrainProgress], None]

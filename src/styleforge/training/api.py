"""Training from Python: `train` starts a run in a folder, `resume` continues one.

`styleforge train` builds a TrainConfig from its flags, calls these and prints the result, so a
script gets what the command does without a subprocess. A mistake a user can make (an option
out of range, a folder that already holds a run, no usable images, a device that is not there)
raises StyleforgeError, which the command prints as one `error:` line.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path

from styleforge.config import TrainConfig
from styleforge.device import pick_device
from styleforge.errors import StyleforgeError
from styleforge.run_folder import MODEL_NAME, STATE_NAME
from styleforge.training.distributed import is_main_process
from styleforge.training.run_report import ProgressCallback, TrainResult
from styleforge.training.trainer import Trainer, resume_trainer

log = logging.getLogger(__name__)


def train(
    config: TrainConfig,
    out: str | os.PathLike,
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Train `config` into the run folder `out`; returns the folder and its model file.

    `config` itself is left as it is: the run's copy (with the style names the data gave) is
    saved as `out/config.yaml`. A folder that already holds a run is refused unless
    `overwrite`. `progress` is called with a TrainProgress after every step."""
    config = copy.deepcopy(config)
    config.validate()
    out = Path(out)
    if not overwrite and ((out / STATE_NAME).exists() or (out / MODEL_NAME).exists()):
        raise StyleforgeError(
            f"{out} already holds a run; use --resume {out} to continue or --overwrite"
        )
    pick_device(config.device)  # not there: an error before anything is written
    if is_main_process():  # under torchrun, rank 0 alone writes files
        out.mkdir(parents=True, exist_ok=True)
        config.save_yaml(out / "config.yaml")
    return Trainer(config, out).run(progress=progress)


def resume(
    run_dir: str | os.PathLike,
    *,
    steps: int | None = None,
    time_budget: float | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    progress: ProgressCallback | None = None,
) -> TrainResult:
    """Continue the run in `run_dir` exactly where it stopped (see `resume_trainer` for the
    options: a longer run, another batch size per process, another device)."""
    trainer = resume_trainer(Path(run_dir), steps, time_budget, batch_size, device)
    log.info("resuming %s at step %d", run_dir, trainer.step)
    return trainer.run(progress=progress)

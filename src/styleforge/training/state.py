"""A run's state: its counters, its checkpoints on disk, and rolling back to them.

Checkpoints are written atomically (`checkpoint`): the training state first (what resume
reads), then the model file users ship, so a kill between the two loses nothing. A network
holding a NaN is never written. After too many non-finite steps in a row the run goes back to
its last checkpoint with half the learning rate, and gives up after MAX_ROLLBACKS of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from styleforge.atomic import WriteError
from styleforge.config import TrainConfig
from styleforge.errors import StyleforgeError
from styleforge.modelfile import save_model
from styleforge.run_folder import MODEL_NAME, STATE_NAME
from styleforge.training import checkpoint, distributed
from styleforge.training.networks import Networks

log = logging.getLogger(__name__)

MAX_ROLLBACKS = 5  # divergence rollbacks before a run gives up
ROLLBACK_LR_FACTOR = 0.5  # each rollback multiplies the learning rates by this


@dataclass
class Progress:
    """The counters saved with every checkpoint."""

    step: int = 0
    elapsed: float = 0.0  # seconds of training, across resumes
    lr_scale: float = 1.0  # lowered by divergence rollbacks
    rollbacks: int = 0


class RunState:
    """The checkpoints of one run folder: written from, and restored into, live networks."""

    def __init__(
        self,
        run_dir: Path,
        nets: Networks,
        optimizers: dict[str, torch.optim.Optimizer],
        config: TrainConfig,
        world: distributed.World,
    ):
        self.run_dir, self.nets, self.optimizers = Path(run_dir), nets, optimizers
        self.config, self.world = config, world

    @property
    def model_path(self) -> Path:
        return self.run_dir / MODEL_NAME

    @property
    def state_path(self) -> Path:
        return self.run_dir / STATE_NAME

    def save(self, progress: Progress) -> None:
        """Training state first (what resume reads), then the model file users ship.

        The networks are saved unwrapped (no DDP prefix), so any number of processes resumes."""
        counters = {
            "step": progress.step,
            "elapsed": progress.elapsed,
            "world_size": self.world.size,
            "batch_size": self.config.batch_size,
            "lr_scale": progress.lr_scale,
            "rollbacks": progress.rollbacks,
        }
        for name, module in self.nets.modules().items():
            if not all(bool(torch.isfinite(t).all()) for t in module.state_dict().values()):
                raise StyleforgeError(
                    f"the {name} network holds NaN or inf at step {progress.step}; not saved "
                    f"(the checkpoint in {self.run_dir} is unchanged)"
                )
        checkpoint.save_state(
            self.state_path, self.nets.modules(), self.optimizers, self.config, counters
        )
        extra = {"step": progress.step, "styles": self.config.model.styles}
        save_model(self.model_path, self.nets.ema.model, self.config, extra)

    def save_or_warn(self, progress: Progress) -> None:
        """A periodic checkpoint: a failed write (disk full) is reported and training goes on;
        the previous checkpoint stays intact and the final save raises if it fails too."""
        try:
            self.save(progress)
        except WriteError as exc:
            log.error("checkpoint at step %d not written; training goes on: %s", progress.step, exc)

    def restore(self, global_batch: int) -> Progress:
        """Load the last checkpoint into the networks and optimisers; its counters."""
        saved = checkpoint.load_state(self.state_path, self.nets.modules(), self.optimizers)
        before = int(saved.get("world_size", 1)) * int(saved.get("batch_size", 0))
        if before and before != global_batch:
            log.warning(
                "the checkpoint trained with %d images per step, this run uses %d "
                "(--batch-size %d x %d processes): the effective batch changes",
                before,
                global_batch,
                self.config.batch_size,
                self.world.size,
            )
        return Progress(
            step=int(saved["step"]),
            elapsed=float(saved["elapsed"]),
            lr_scale=float(saved.get("lr_scale", 1.0)),
            rollbacks=int(saved.get("rollbacks", 0)),
        )

    def roll_back(self, progress: Progress, bad: int, global_batch: int) -> Progress:
        """Back to the last checkpoint with lower learning rates, after `bad` non-finite steps
        in a row; StyleforgeError once MAX_ROLLBACKS are used up."""
        if progress.rollbacks >= MAX_ROLLBACKS:
            raise StyleforgeError(
                f"training diverged: {bad} non-finite steps in a row at step {progress.step} "
                f"after {progress.rollbacks} rollbacks; the last good checkpoint in "
                f"{self.run_dir} is kept (try a lower --lr)"
            )
        distributed.barrier(self.world)  # rank 0's last checkpoint is on disk
        restored = self.restore(global_batch)
        restored.rollbacks = progress.rollbacks + 1
        restored.lr_scale = progress.lr_scale * ROLLBACK_LR_FACTOR
        restored.elapsed = progress.elapsed  # the time budget counts the lost steps too
        log.warning(
            "%d non-finite steps in a row at step %d: rolled back to the checkpoint at step %d "
            "with the learning rate x%g (rollback %d of at most %d)",
            bad,
            progress.step,
            restored.step,
            restored.lr_scale,
            restored.rollbacks,
            MAX_ROLLBACKS,
        )
        return restored

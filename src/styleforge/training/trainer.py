"""The training loop: schedule, logging, sample grids and checkpoints around each step.

The step's losses are `step`; checkpoints, resume and rollback are `state`; the device,
precision and DDP wrappers are `runtime`.

Every step is re-seeded from (seed, step), EMA weights are what gets shipped, and checkpoints
are written atomically at the start, every `save_every` steps, at the end and on Ctrl-C, so a
run killed at any moment resumes (stale temp files of a killed write are removed on start).

A step whose loss or gradients are not finite is skipped (no optimizer or EMA update); after
`max_bad_steps` of them in a row the run rolls back to its last checkpoint with half the
learning rate, and gives up with an error after `MAX_ROLLBACKS` rollbacks. A network with a
NaN is never written.

Under torchrun (see `distributed` and docs/distributed.md) `--batch-size` is per process. Every
rank draws the randomness of the whole global batch (images, augmentation, noise, DiffAugment)
from the same per-step generator and keeps its own share of rows, and each network sits in its
own DDP, so one step of N processes with batch b is one step of one process with batch N*b
(up to float rounding; batch-mixing parts, reference steps and dropout, are per rank). Only rank
0 writes files, logs and progress bars; checkpoints hold the unwrapped networks, so any number
of processes resumes them.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from pathlib import Path

import torch
from tqdm import tqdm

from styleforge.atomic import WriteError, remove_stale_temps
from styleforge.config import TrainConfig
from styleforge.data.datasets import BatchSampler, TrainingData
from styleforge.errors import StyleforgeError
from styleforge.progress import progress_bar
from styleforge.run_folder import LOSS_PLOT_NAME, STATE_NAME
from styleforge.training import checkpoint, distributed, output_filter
from styleforge.training.monitor import MetricsLog, bar_postfix, image_grid, plot_losses, save_grid
from styleforge.training.networks import Networks
from styleforge.training.probe import FIT_IMAGES, TrainingProbe
from styleforge.training.run_report import ProgressCallback, TrainProgress, TrainResult
from styleforge.training.runtime import Runtime
from styleforge.training.seeding import seed_step, step_seed
from styleforge.training.state import Progress, RunState
from styleforge.training.statistics_fit import fit_statistics_transfer
from styleforge.training.step import FaultHook, TrainStep

log = logging.getLogger(__name__)

SAMPLE_IMAGES = 4
RANK_STREAM = 1000  # global-RNG stream of rank r > 0 (dropout masks differ between ranks)


class Trainer:
    """One training run: its data, networks, step, state and run folder, and the loop."""

    def __init__(self, config: TrainConfig, run_dir: Path, data: TrainingData | None = None):
        self.config = config
        self.run_dir = Path(run_dir)
        self.runtime = Runtime.start(config)
        self.world, self.device = self.runtime.world, self.runtime.device
        self.data = data if data is not None else TrainingData.load(config.data)
        if config.model.styles != self.data.style_names:
            config.model.styles = self.data.style_names
        config.validate()
        torch.manual_seed(config.seed)  # network initialisation (the same on every rank)
        self.nets = Networks.build(config, self.device)
        fit_statistics_transfer(self.data, self.nets.net, self.nets.ema.model)
        self.runtime.place(self.nets)
        self.sampler = BatchSampler(
            self.data, config.data, config.batch_size, self.world.rank, self.world.size
        )
        self.train_step = TrainStep(config, self.nets, self.sampler, self.runtime)
        self.state = RunState(
            self.run_dir, self.nets, self.train_step.optimizers(), config, self.world
        )
        self.progress = Progress()
        self.bad_in_a_row = 0
        self.sampled_at: int | None = None  # the step of the last sample grid
        self.sample_inputs = self.data.sample_inputs(
            SAMPLE_IMAGES, config.data.load_size, config.model.size_multiple
        )
        if self.world.enabled:
            log.info(
                "batch %d per process x %d processes = %d per step",
                config.batch_size,
                self.world.size,
                self.sampler.global_batch,
            )

    # what tests, benchmarks and the CLI read of a run
    step = property(lambda self: self.progress.step, lambda self, v: self._set("step", v))
    elapsed = property(lambda self: self.progress.elapsed, lambda self, v: self._set("elapsed", v))
    lr_scale = property(lambda self: self.progress.lr_scale)
    rollbacks = property(lambda self: self.progress.rollbacks)
    model_path = property(lambda self: self.state.model_path)
    state_path = property(lambda self: self.state.state_path)
    opt_g = property(lambda self: self.train_step.opt_g)
    precision = property(lambda self: self.runtime.precision)
    channels_last = property(lambda self: self.runtime.channels_last)

    def _set(self, name: str, value: float) -> None:
        setattr(self.progress, name, value)

    @property
    def fault_hook(self) -> FaultHook | None:
        return self.train_step.fault_hook

    @fault_hook.setter
    def fault_hook(self, hook: FaultHook | None) -> None:
        self.train_step.fault_hook = hook

    def save(self) -> None:
        self.state.save(self.progress)

    def restore(self) -> None:
        self.progress = self.state.restore(self.sampler.global_batch)
        self.bad_in_a_row = 0

    # ----------------------------------------------------------------- schedule
    def done(self) -> bool:
        cfg, progress = self.config, self.progress
        if cfg.steps is not None and progress.step >= cfg.steps:
            return True
        return cfg.time_budget is not None and progress.elapsed >= cfg.time_budget * 60

    def progress_fraction(self) -> float:
        cfg, progress = self.config, self.progress
        parts = []
        if cfg.steps is not None:
            parts.append(progress.step / cfg.steps)
        if cfg.time_budget is not None:
            parts.append(progress.elapsed / (cfg.time_budget * 60))
        return min(1.0, max(parts))

    def set_learning_rate(self) -> None:
        """Constant, then linear decay to zero after `decay_start` of training."""
        decay_start = self.config.optim.decay_start
        frac = self.progress_fraction()
        scale = 1.0
        if decay_start < 1.0 and frac > decay_start:
            scale = max(0.0, (1.0 - frac) / (1.0 - decay_start))
        self.train_step.set_learning_rates(scale * self.progress.lr_scale)

    def step_generator(self) -> torch.Generator:
        """This step's generator: the same on every rank (it draws the whole global batch).

        The global RNG (dropout) gets a stream of its own on ranks other than 0."""
        seed, step = self.config.seed, self.progress.step
        gen = seed_step(seed, step)
        if self.world.rank > 0:
            torch.manual_seed(step_seed(seed, step, RANK_STREAM + self.world.rank))
        return gen

    # ----------------------------------------------------------------- loop
    def one_step(self) -> dict[str, float]:
        """Train one step and count it; the losses, {} for a skipped (non-finite) one."""
        started = time.perf_counter()
        self.set_learning_rate()
        losses = self.train_step(self.step_generator(), self.step, self.progress_fraction())
        self.progress.step += 1
        if losses:
            self.bad_in_a_row = 0
            self.nets.ema.update(self.nets.net, self.progress.step)
        else:
            self.bad_in_a_row += 1
            log.warning(
                "step %d: NaN or inf in the %s loss or gradients; step skipped (%d in a row, "
                "rollback at %d)",
                self.progress.step - 1,
                self.train_step.skipped,
                self.bad_in_a_row,
                self.config.max_bad_steps,
            )
        self.progress.elapsed += time.perf_counter() - started
        return losses

    def roll_back(self) -> None:
        bad, global_batch = self.bad_in_a_row, self.sampler.global_batch
        self.progress = self.state.roll_back(self.progress, bad, global_batch)
        self.bad_in_a_row = 0

    def run(
        self, stop_at: int | None = None, progress: ProgressCallback | None = None
    ) -> TrainResult:
        """Train until the step or time budget (or `stop_at`, for tests) is reached.

        `progress` is called after every step on rank 0, where the progress bar moves: a
        script or notebook follows the run without parsing the bar or metrics.jsonl."""
        main = self.world.is_main
        if main:
            self.prepare_run_dir()
        metrics = MetricsLog(self.run_dir, resume_step=self.step) if main else None
        probe = self.start_probe() if main else None
        self.set_output_filter()  # off while training
        try:
            options = {"desc": "training", "unit": "it", "disable": None if main else True}
            with progress_bar(total=self.config.steps, initial=self.step, **options) as bar:
                interrupted = self.loop(bar, metrics, probe, stop_at, progress)
            if main:
                filtered = not interrupted and self.set_output_filter(probe, metrics)
                self.save()
                if self.sampled_at != self.step:
                    self.write_samples(metrics, probe)
                elif filtered:  # the last grid shows the model as shipped
                    self.write_samples()
        finally:
            if metrics is not None:
                metrics.close()
        if main:
            plot_losses(metrics.path, self.run_dir / LOSS_PLOT_NAME)
        if not interrupted:  # the other ranks return once rank 0's files are written
            distributed.barrier(self.world)
        return TrainResult(self.run_dir, self.model_path, self.step, self.elapsed, interrupted)

    def loop(
        self,
        bar: tqdm,
        metrics: MetricsLog | None,
        probe: TrainingProbe | None,
        stop_at: int | None,
        progress: ProgressCallback | None,
    ) -> bool:
        """Steps until done, with the bar, logs, samples and checkpoints on their schedules;
        whether Ctrl-C ended it."""
        cfg, main = self.config, self.world.is_main
        means = LossMeans()
        try:
            while not self.done() and (stop_at is None or self.step < stop_at):
                losses = self.one_step()
                if self.bad_in_a_row >= cfg.max_bad_steps:
                    self.roll_back()
                    bar.n = self.step
                    bar.refresh()
                    continue
                if cfg.time_budget is not None:  # every rank stops at the same step
                    self.progress.elapsed = distributed.from_main(self.elapsed, self.world)
                means.add(losses)
                bar.update(1)
                if progress is not None and main:
                    progress(self.report(losses))
                if self.step % cfg.log_every == 0 and means.counted:
                    averages = means.take()
                    if metrics is not None:
                        metrics.write(
                            self.step, {**averages, "lr": self.opt_g.param_groups[0]["lr"]}
                        )
                    bar.set_postfix(bar_postfix(averages, self.seconds_left()))
                if main and self.step % cfg.sample_every == 0:
                    self.write_samples(metrics, probe)
                if main and self.step % cfg.save_every == 0:
                    self.state.save_or_warn(self.progress)
        except KeyboardInterrupt:
            log.warning("interrupted at step %d; saving a checkpoint", self.step)
            return True
        return False

    def seconds_left(self) -> float | None:
        """Of the time budget; None without one."""
        budget = self.config.time_budget
        return None if budget is None else budget * 60 - self.elapsed

    def start_probe(self) -> TrainingProbe | None:
        """The run's style probe (`training.probe`), fitted now; None when `style_probe` is off
        or EfficientNet-Lite0 cannot be loaded (the run goes on without it)."""
        if not self.config.style_probe:
            return None
        try:
            return TrainingProbe(self.data, self.device)
        except StyleforgeError as exc:
            log.warning("no style probe: %s", exc)
            return None

    def set_output_filter(
        self, probe: TrainingProbe | None = None, metrics: MetricsLog | None = None
    ) -> bool:
        """Every style's output filter off (as it trains), or, given the run's probe, on where
        it prefers the EMA's outputs filtered (`training.output_filter`); whether any is on."""
        if not self.config.model.output_filter:
            return False
        nets = (self.nets.net, self.nets.ema.model)
        output_filter.set_weights(nets, None)
        if probe is None:
            return False
        model, size = self.config.model, self.config.data.load_size
        photos = self.data.sample_inputs(FIT_IMAGES, size, model.size_multiple)
        chosen = output_filter.choose(nets[1], probe, photos.to(self.device))
        output_filter.set_weights(nets, chosen)
        if metrics is not None:
            metrics.write(self.step, output_filter.choice_metrics(chosen))
        return any(choice.weight > 0 for choice in chosen.values())

    def report(self, losses: dict[str, float]) -> TrainProgress:
        """The run's progress after a step whose losses were `losses`."""
        budget = self.config.time_budget
        return TrainProgress(
            step=self.step,
            total_steps=self.config.steps,
            seconds=self.elapsed,
            budget_seconds=None if budget is None else budget * 60,
            fraction=self.progress_fraction(),
            losses=dict(losses),
        )

    def prepare_run_dir(self) -> None:
        """Create the folder, clear what a killed write left, and checkpoint at once (something
        to resume and roll back to from the first step)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for folder in (self.run_dir, self.run_dir / "samples"):
            for stale in remove_stale_temps(folder):
                log.info("removed %s, left by a killed write", stale.name)
        if not self.state_path.exists():
            self.save()

    @torch.no_grad()
    def write_samples(
        self, metrics: MetricsLog | None = None, probe: TrainingProbe | None = None
    ) -> None:
        """A grid: the fixed sample inputs, then the EMA network's output for each style; to
        samples/ and TensorBoard, with the style probe's share of those outputs."""
        net = self.nets.ema.model
        inputs = self.sample_inputs.to(self.device)
        outputs = []
        gen = torch.Generator().manual_seed(self.config.seed)
        for label in range(self.config.model.num_styles):
            labels = torch.full((inputs.shape[0],), label, dtype=torch.long, device=self.device)
            outputs.append(net(inputs, net.style_codes(labels, gen)).cpu())
        grid = image_grid([inputs.cpu(), *outputs])
        try:
            save_grid(self.run_dir / "samples" / f"step_{self.step:06d}.png", grid)
        except WriteError as exc:  # disk full: a missing sample grid does not stop training
            log.error("%s", exc)
        self.sampled_at = self.step
        if metrics is not None:
            metrics.image("samples", grid, self.step)
            if probe is not None:
                metrics.write(self.step, probe.shares(outputs))


class LossMeans:
    """Running sums of the losses between two log lines (skipped steps not counted)."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.counted = 0

    def add(self, losses: dict[str, float]) -> None:
        if losses:  # empty for a skipped (non-finite) step
            for key, value in losses.items():
                self.totals[key] += value
            self.counted += 1

    def take(self) -> dict[str, float]:
        """The means since the last take, and start again."""
        means = {k: v / self.counted for k, v in self.totals.items()}
        self.totals.clear()
        self.counted = 0
        return means


def resume_trainer(
    run_dir: Path,
    steps: int | None = None,
    time_budget: float | None = None,
    batch_size: int | None = None,
    device: str | None = None,
):
    """A Trainer restored from a run folder's training state; steps/time can be extended.

    Any number of processes resumes any checkpoint. `batch_size` (per process) keeps the
    effective batch when the number of processes changes; `device` moves a run, say from GPUs
    to a CPU."""
    state = Path(run_dir) / STATE_NAME
    saved_options = Path(run_dir) / "config.yaml"
    if state.exists():
        config = checkpoint.read_state_config(state)
    elif saved_options.exists():  # killed before its first checkpoint: start it again
        log.warning(
            "%s has no checkpoint yet; starting it from step 0 with its config.yaml", run_dir
        )
        config = TrainConfig.load_yaml(saved_options, saved=True, resuming=True)
    else:
        raise StyleforgeError(f"nothing to resume: {state} does not exist")
    if steps is not None:
        config.steps = steps
    if time_budget is not None:
        config.time_budget = time_budget
    if batch_size is not None:
        config.batch_size = batch_size
    if device is not None:
        config.device = device
    trainer = Trainer(config, run_dir)
    if state.exists():
        trainer.restore()
    return trainer

"""The training loop: one discriminator step and one generator step per iteration.

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

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from styleforge.atomic import WriteError, remove_stale_temps
from styleforge.config import TrainConfig
from styleforge.data.datasets import BatchSampler, TrainingData
from styleforge.data.diffaug import diff_augment, diffaug_enabled
from styleforge.device import set_threads
from styleforge.errors import StyleforgeError
from styleforge.losses import discriminator_loss, generator_loss, r1_penalty
from styleforge.modelfile import save_model
from styleforge.run_folder import LOSS_PLOT_NAME, MODEL_NAME, STATE_NAME
from styleforge.training import checkpoint, distributed
from styleforge.training.content_terms import ContentTerms
from styleforge.training.monitor import MetricsLog, plot_losses, save_grid
from styleforge.training.networks import Networks, Wrapped
from styleforge.training.seeding import seed_step, step_seed
from styleforge.training.statistics_fit import fit_statistics_transfer
from styleforge.training.structure import StructureTerm

log = logging.getLogger(__name__)

SAMPLE_IMAGES = 4
RANK_STREAM = 1000  # global-RNG stream of rank r > 0 (dropout masks differ between ranks)
MAX_ROLLBACKS = 5  # divergence rollbacks before a run gives up
ROLLBACK_LR_FACTOR = 0.5  # each rollback multiplies the learning rates by this

# test hook: (step, "d" or "g", loss) -> loss; lets tests inject NaN/inf into a real run
FaultHook = Callable[[int, str, torch.Tensor], torch.Tensor]


@dataclass
class TrainResult:
    model_path: Path
    steps: int
    seconds: float
    interrupted: bool


def training_precision(precision: str, device: torch.device) -> str:
    """`auto` is bf16 autocast on CUDA and fp32 on the CPU (asked-for bf16 runs on both)."""
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return precision


class Trainer:
    """Owns the networks, optimizers, data and run folder of one training run."""

    def __init__(self, config: TrainConfig, run_dir: Path, data: TrainingData | None = None):
        self.config = config
        self.run_dir = Path(run_dir)
        self.world = distributed.setup(config.device)
        self.device = self.world.device
        set_threads(config.threads)
        self.data = data if data is not None else TrainingData.load(config.data)
        if config.model.styles != self.data.style_names:
            config.model.styles = self.data.style_names
        config.validate()
        self.precision = training_precision(config.precision, self.device)
        torch.manual_seed(config.seed)  # network initialisation (the same on every rank)
        self.nets = Networks.build(config, self.device)
        fit_statistics_transfer(self.data, self.nets.net, self.nets.ema.model)
        self.channels_last = self.device.type == "cuda"
        if self.channels_last:  # NHWC: what cuDNN's fast convolutions (and bf16) want
            for module in self.nets.modules().values():
                module.to(memory_format=torch.channels_last)
        trained = [m for name, m in self.nets.modules().items() if name != "ema"]
        distributed.convert_batch_norm(trained, self.world)
        opt = config.optim
        betas = (opt.beta1, opt.beta2)
        self.opt_g = torch.optim.Adam(self.nets.generator_params(), lr=opt.lr, betas=betas)
        self.opt_d = torch.optim.Adam(
            self.nets.discriminator_params(), lr=opt.lr_d or opt.lr, betas=betas
        )
        self.sampler = BatchSampler(
            self.data, config.data, config.batch_size, self.world.rank, self.world.size
        )
        smallest = min(len(s) for s in self.data.styles)
        self.diffaug = diffaug_enabled(opt.diffaug, smallest)
        self.diffaug_parts = opt.diffaug_parts
        self.step = 0
        self.elapsed = 0.0
        self.lr_scale = 1.0  # lowered by divergence rollbacks; saved with the state
        self.rollbacks = 0
        self.bad_in_a_row = 0
        self.fault_hook: FaultHook | None = None
        self.structure = StructureTerm(opt, self.device)
        self.sample_inputs = self.data.sample_inputs(
            SAMPLE_IMAGES, config.data.load_size, config.model.size_multiple
        )
        self.w = self.wrap_networks()
        self.content_terms = ContentTerms(opt, self.nets, self.w)
        if self.world.enabled:
            log.info(
                "batch %d per process x %d processes = %d per step",
                config.batch_size,
                self.world.size,
                self.sampler.global_batch,
            )

    def wrap_networks(self) -> Wrapped:
        nets, world, comp = self.nets, self.world, self.config.compile
        # R1 differentiates through D twice: compiled graphs have no double backward
        comp_d = comp and self.config.optim.r1_gamma == 0
        if comp and not comp_d:
            log.info("--compile: the discriminators stay eager (R1 needs double backward)")

        def wrap(module, compiled=comp):
            return None if module is None else distributed.wrap(module, world, compiled)

        def fixed(wrapped):  # D in generator steps: frozen, so called outside DDP
            return None if wrapped is None else distributed.unwrap(wrapped)

        back = nets.back
        disc, disc_back = wrap(nets.disc, comp_d), wrap(nets.disc_back, comp_d)
        return Wrapped(
            gen=wrap(nets.net.generator),
            mapping=wrap(nets.net.mapping),
            encoder=wrap(nets.net.encoder),
            disc=disc,
            disc_fixed=fixed(disc),
            nce=wrap(nets.nce, False),  # tiny MLPs around a seeded randperm: left eager
            back_gen=wrap(back.generator if back else None),
            back_mapping=wrap(back.mapping if back else None),
            disc_back=disc_back,
            disc_back_fixed=fixed(disc_back),
        )

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast for the forward passes (no gradient scaling needed for bf16)."""
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def to_device(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device, non_blocking=True)
        if self.channels_last:
            return images.contiguous(memory_format=torch.channels_last)
        return images

    # ----------------------------------------------------------------- state
    @property
    def model_path(self) -> Path:
        return self.run_dir / MODEL_NAME

    @property
    def state_path(self) -> Path:
        return self.run_dir / STATE_NAME

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}

    def save(self) -> None:
        """Training state first (what resume reads), then the model file users ship.

        The networks are saved unwrapped (no DDP prefix), so any number of processes resumes."""
        progress = {
            "step": self.step,
            "elapsed": self.elapsed,
            "world_size": self.world.size,
            "batch_size": self.config.batch_size,
            "lr_scale": self.lr_scale,
            "rollbacks": self.rollbacks,
        }
        for name, module in self.nets.modules().items():
            if not all(bool(torch.isfinite(t).all()) for t in module.state_dict().values()):
                raise StyleforgeError(
                    f"the {name} network holds NaN or inf at step {self.step}; not saved "
                    f"(the checkpoint in {self.run_dir} is unchanged)"
                )
        checkpoint.save_state(
            self.state_path, self.nets.modules(), self.optimizers(), self.config, progress
        )
        extra = {"step": self.step, "styles": self.config.model.styles}
        save_model(self.model_path, self.nets.ema.model, self.config, extra)

    def restore(self) -> None:
        progress = checkpoint.load_state(self.state_path, self.nets.modules(), self.optimizers())
        self.step = int(progress["step"])
        self.elapsed = float(progress["elapsed"])
        self.lr_scale = float(progress.get("lr_scale", 1.0))
        self.rollbacks = int(progress.get("rollbacks", 0))
        self.bad_in_a_row = 0
        saved = int(progress.get("world_size", 1)) * int(progress.get("batch_size", 0))
        now = self.sampler.global_batch
        if saved and saved != now:
            log.warning(
                "the checkpoint trained with %d images per step, this run uses %d "
                "(--batch-size %d x %d processes): the effective batch changes",
                saved,
                now,
                self.config.batch_size,
                self.world.size,
            )

    # ----------------------------------------------------------------- loop
    def done(self) -> bool:
        cfg = self.config
        if cfg.steps is not None and self.step >= cfg.steps:
            return True
        return cfg.time_budget is not None and self.elapsed >= cfg.time_budget * 60

    def progress_fraction(self) -> float:
        cfg = self.config
        parts = []
        if cfg.steps is not None:
            parts.append(self.step / cfg.steps)
        if cfg.time_budget is not None:
            parts.append(self.elapsed / (cfg.time_budget * 60))
        return min(1.0, max(parts))

    def set_learning_rate(self) -> None:
        """Constant, then linear decay to zero after `decay_start` of training."""
        opt = self.config.optim
        frac = self.progress_fraction()
        scale = 1.0
        if opt.decay_start < 1.0 and frac > opt.decay_start:
            scale = max(0.0, (1.0 - frac) / (1.0 - opt.decay_start))
        scale *= self.lr_scale
        for group in self.opt_g.param_groups:
            group["lr"] = opt.lr * scale
        for group in self.opt_d.param_groups:
            group["lr"] = (opt.lr_d or opt.lr) * scale

    def step_generator(self) -> torch.Generator:
        """This step's generator: the same on every rank (it draws the whole global batch).

        The global RNG (dropout) gets a stream of its own on ranks other than 0."""
        gen = seed_step(self.config.seed, self.step)
        if self.world.rank > 0:
            torch.manual_seed(step_seed(self.config.seed, self.step, RANK_STREAM + self.world.rank))
        return gen

    def run(self, stop_at: int | None = None) -> TrainResult:
        """Train until the step or time budget (or `stop_at`, for tests) is reached."""
        cfg, main = self.config, self.world.is_main
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            for folder in (self.run_dir, self.run_dir / "samples"):
                for stale in remove_stale_temps(folder):
                    log.info("removed %s, left by a killed write", stale.name)
            if not self.state_path.exists():  # something to resume (and roll back to) at once
                self.save()
        metrics = MetricsLog(self.run_dir, resume_step=self.step) if main else None
        totals: dict[str, float] = defaultdict(float)
        counted = 0
        bar = tqdm(
            total=cfg.steps,
            initial=self.step,
            desc="training",
            unit="it",
            disable=None if main else True,
        )
        interrupted = False
        try:
            while not self.done() and (stop_at is None or self.step < stop_at):
                started = time.perf_counter()
                self.set_learning_rate()
                losses = self.train_step(self.step_generator())
                self.step += 1
                if self.bad_in_a_row == 0:
                    self.nets.ema.update(self.nets.net, self.step)
                self.elapsed += time.perf_counter() - started
                if self.bad_in_a_row >= cfg.max_bad_steps:
                    self.roll_back()
                    bar.n = self.step
                    bar.refresh()
                    continue
                if cfg.time_budget is not None:  # every rank stops at the same step
                    self.elapsed = distributed.from_main(self.elapsed, self.world)
                if losses:  # empty for a skipped (non-finite) step
                    for key, value in losses.items():
                        totals[key] += value
                    counted += 1
                bar.update(1)
                if self.step % cfg.log_every == 0 and counted:
                    means = {k: v / counted for k, v in totals.items()}
                    if metrics is not None:
                        lr = self.opt_g.param_groups[0]["lr"]
                        metrics.write(self.step, {**means, "lr": lr})
                    bar.set_postfix({k.split("/")[-1]: f"{v:.3f}" for k, v in means.items()})
                    totals.clear()
                    counted = 0
                if main and self.step % cfg.sample_every == 0:
                    self.write_samples()
                if main and self.step % cfg.save_every == 0:
                    self.save_or_warn()
        except KeyboardInterrupt:
            interrupted = True
            log.warning("interrupted at step %d; saving a checkpoint", self.step)
        finally:
            bar.close()
            if metrics is not None:
                metrics.close()
        if main:
            self.save()
            self.write_samples()
            plot_losses(metrics.path, self.run_dir / LOSS_PLOT_NAME)
        if not interrupted:  # the other ranks return once rank 0's files are written
            distributed.barrier(self.world)
        return TrainResult(self.model_path, self.step, self.elapsed, interrupted)

    # ----------------------------------------------------------------- one step
    def train_step(self, gen: torch.Generator) -> dict[str, float]:
        """One discriminator update then one generator update; returns the losses (means over
        the ranks when distributed)."""
        opt, nets, w = self.config.optim, self.nets, self.w
        content = self.to_device(self.sampler.content(gen))
        style, labels = self.sampler.style(gen)
        style, labels = self.to_device(style), labels.to(self.device)
        use_ref = opt.ref_every > 0 and self.step % opt.ref_every == opt.ref_every - 1

        # discriminator: real and fake forwards, then one backward (DDP reduces D's gradients)
        with self.autocast():
            codes = self.draw_codes(labels, style, use_ref, gen)
            # what the network changes (and the output keeps): the content through the style's
            # statistics transfer, computed once for the generator and the content terms
            source = nets.net.generator.start_from(content, codes.detach())
            fake = w.gen(source, codes, method="change")
            back_codes = back_fake = None
            if nets.back is not None:
                back_codes = self.noise_codes(w.back_mapping, torch.zeros_like(labels), gen)
                back_fake = w.back_gen(style, back_codes)
            nets.disc.requires_grad_(True)
            real_in = style.requires_grad_(opt.r1_gamma > 0)
            real_logits = w.disc(self.for_disc(real_in, gen), labels)
            fake_logits = w.disc(self.for_disc(fake.detach(), gen), labels)
            loss_d = discriminator_loss(real_logits, fake_logits, opt.gan_loss)
            losses = {"loss/d": float(loss_d.detach())}
            if opt.r1_gamma > 0:
                r1 = r1_penalty(real_logits, real_in)
                loss_d = loss_d + 0.5 * opt.r1_gamma * r1
                losses["loss/r1"] = float(r1.detach())
            if nets.disc_back is not None:
                zeros = torch.zeros_like(labels)
                loss_db = discriminator_loss(
                    w.disc_back(content, zeros),
                    w.disc_back(back_fake.detach(), zeros),
                    opt.gan_loss,
                )
                loss_d = loss_d + loss_db
                losses["loss/d_back"] = float(loss_db.detach())
        self.opt_d.zero_grad(set_to_none=True)
        loss_d = self.inject("d", loss_d)
        loss_d.backward()
        d_ok = self.all_finite(loss_d, self.nets.discriminator_params())
        if d_ok:  # a bad step still runs its generator pass: DDP expects every backward
            self.opt_d.step()
        style = style.detach()

        # generator: D frozen (called outside DDP: it has no gradient to reduce)
        nets.disc.requires_grad_(False)
        with self.autocast():
            fake_logits = w.disc_fixed(self.for_disc(fake, gen), labels)
            loss_g = opt.lambda_gan * generator_loss(fake_logits, opt.gan_loss)
            losses["loss/g_gan"] = float(loss_g.detach())
            terms = self.style_terms(content, style, labels, codes, fake, use_ref, gen)
            terms.update(
                self.content_terms(content, source, style, fake, codes, back_codes, back_fake, gen)
            )
            terms.update(self.structure(source, fake))
            for key, value in terms.items():
                losses[f"loss/{key}"] = float(value.detach())
                loss_g = loss_g + value
        self.opt_g.zero_grad(set_to_none=True)
        loss_g = self.inject("g", loss_g)
        loss_g.backward()
        if not (self.all_finite(loss_g, self.nets.generator_params()) and d_ok):
            return self.skip_step("generator" if d_ok else "discriminator")
        self.opt_g.step()
        self.bad_in_a_row = 0
        return distributed.all_mean(losses, self.world)  # every rank sees the same numbers

    # ----------------------------------------------------------------- divergence
    def inject(self, which: str, loss: torch.Tensor) -> torch.Tensor:
        """The loss, or what the test-only `fault_hook` makes of it."""
        return loss if self.fault_hook is None else self.fault_hook(self.step, which, loss)

    def all_finite(self, loss: torch.Tensor, params: list[torch.nn.Parameter]) -> bool:
        """Whether the loss and every gradient are finite, agreed by every rank (one sync)."""
        total = loss.detach().double().sum()
        grads = [p.grad.detach() for p in params if p.grad is not None]
        if grads:
            total = total + torch.stack(torch._foreach_norm(grads)).double().sum()
        ok = 1.0 if bool(torch.isfinite(total)) else 0.0
        if self.world.enabled:  # a NaN on one rank skips the step on all of them
            ok = distributed.all_mean({"ok": ok}, self.world)["ok"]
        return ok > 0.999

    def skip_step(self, which: str) -> dict[str, float]:
        """Drop this step's update (the networks keep their weights); {} marks it skipped."""
        self.opt_d.zero_grad(set_to_none=True)
        self.opt_g.zero_grad(set_to_none=True)
        self.bad_in_a_row += 1
        log.warning(
            "step %d: NaN or inf in the %s loss or gradients; step skipped (%d in a row, "
            "rollback at %d)",
            self.step,
            which,
            self.bad_in_a_row,
            self.config.max_bad_steps,
        )
        return {}

    def roll_back(self) -> None:
        """Back to the last checkpoint with lower learning rates, after too many bad steps."""
        bad_at, bad, elapsed = self.step, self.bad_in_a_row, self.elapsed
        if self.rollbacks >= MAX_ROLLBACKS:
            raise StyleforgeError(
                f"training diverged: {bad} non-finite steps in a row at step {bad_at} after "
                f"{self.rollbacks} rollbacks; the last good checkpoint in {self.run_dir} is kept "
                "(try a lower --lr)"
            )
        rollbacks, lr_scale = self.rollbacks + 1, self.lr_scale * ROLLBACK_LR_FACTOR
        distributed.barrier(self.world)  # rank 0's last checkpoint is on disk
        self.restore()
        self.rollbacks, self.lr_scale = rollbacks, lr_scale
        self.elapsed = elapsed  # the time budget counts the lost steps too
        log.warning(
            "%d non-finite steps in a row at step %d: rolled back to the checkpoint at step %d "
            "with the learning rate x%g (rollback %d of at most %d)",
            bad,
            bad_at,
            self.step,
            lr_scale,
            rollbacks,
            MAX_ROLLBACKS,
        )

    def save_or_warn(self) -> None:
        """A periodic checkpoint: a failed write (disk full) is reported and training goes on;
        the previous checkpoint stays intact and the final save raises if it fails too."""
        try:
            self.save()
        except WriteError as exc:
            log.error("checkpoint at step %d not written; training goes on: %s", self.step, exc)

    def noise_codes(
        self, mapping: torch.nn.Module, labels: torch.Tensor, gen: torch.Generator
    ) -> torch.Tensor:
        """Style codes from fresh noise: drawn for the global batch, this rank's rows kept."""
        rows = self.sampler.rows
        latent = self.nets.net.mapping.latent_dim
        z = torch.randn(self.sampler.global_batch, latent, generator=gen)[rows.start : rows.stop]
        return mapping(z.to(self.device), labels)

    def draw_codes(
        self, labels: torch.Tensor, refs: torch.Tensor, use_ref: bool, gen: torch.Generator
    ) -> torch.Tensor:
        """Style codes from noise, or (reference steps) from the encoder on style images.

        A reference is another image of the same style in this rank's share of the batch: the
        permutation is drawn for the global batch and restricted to this rank's rows."""
        if use_ref:
            perm = torch.randperm(self.sampler.global_batch, generator=gen)
            first, n = self.sampler.rows.start, refs.shape[0]
            order = (perm[(perm >= first) & (perm < first + n)] - first).to(refs.device)
            same_style = labels[order] == labels
            order = torch.where(same_style, order, torch.arange(n, device=refs.device))
            return self.w.encoder(refs[order], labels)
        return self.noise_codes(self.w.mapping, labels, gen)

    def for_disc(self, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """What the discriminator sees: differentiably augmented images when DiffAugment is on."""
        if not self.diffaug:
            return images
        part = (self.sampler.rows.start, self.sampler.global_batch)
        return diff_augment(images, gen, part, self.diffaug_parts)

    def style_terms(self, content, style, labels, codes, fake, use_ref, gen):
        """Style reconstruction and diversity (StarGAN v2), already weighted; {} when off."""
        opt, w = self.config.optim, self.w
        terms = {}
        if opt.lambda_sty > 0:
            learnt = self.config.model.style_dim  # the statistics offsets are the same
            terms["sty"] = opt.lambda_sty * F.l1_loss(
                w.encoder(fake, labels)[:, :learnt], codes[:, :learnt]
            )
        ds_weight = opt.lambda_ds * (1.0 - self.progress_fraction())
        if ds_weight > 0:
            other = self.draw_codes(labels, style, use_ref, gen)
            with torch.no_grad():  # the second variant is a fixed target (StarGAN v2 detaches)
                fake2 = w.gen(content, other)
            terms["ds"] = -ds_weight * (fake - fake2).abs().mean()
        return terms

    @torch.no_grad()
    def write_samples(self) -> None:
        """A grid: the fixed sample inputs, then the EMA network's output for each style."""
        net = self.nets.ema.model
        inputs = self.sample_inputs.to(self.device)
        rows = [inputs.cpu()]
        gen = torch.Generator().manual_seed(self.config.seed)
        for label in range(self.config.model.num_styles):
            labels = torch.full((inputs.shape[0],), label, dtype=torch.long, device=self.device)
            rows.append(net(inputs, net.style_codes(labels, gen)).cpu())
        try:
            save_grid(self.run_dir / "samples" / f"step_{self.step:06d}.png", rows)
        except WriteError as exc:  # disk full: a missing sample grid does not stop training
            log.error("%s", exc)


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

"""The training loop: one discriminator step and one generator step per iteration.

Every step is re-seeded from (seed, step), EMA weights are what gets shipped, and checkpoints
are written atomically every `save_every` steps, at the end and on Ctrl-C.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from styleforge.config import TrainConfig
from styleforge.data.datasets import BatchSampler, TrainingData
from styleforge.data.diffaug import diff_augment, diffaug_enabled
from styleforge.device import pick_device, set_threads
from styleforge.errors import StyleforgeError
from styleforge.losses import discriminator_loss, generator_loss, r1_penalty
from styleforge.training import checkpoint
from styleforge.training.monitor import LOSS_PLOT_NAME, MetricsLog, plot_losses, save_grid
from styleforge.training.networks import Networks, nce_layer_ids
from styleforge.training.seeding import seed_step

log = logging.getLogger(__name__)

SAMPLE_IMAGES = 4
COLOR_POOL = 8  # the colour term compares 8x8-pixel averages: colours, not edges or texture


@dataclass
class TrainResult:
    model_path: Path
    steps: int
    seconds: float
    interrupted: bool


class Trainer:
    """Owns the networks, optimizers, data and run folder of one training run."""

    def __init__(self, config: TrainConfig, run_dir: Path, data: TrainingData | None = None):
        self.config = config
        self.run_dir = Path(run_dir)
        self.device = pick_device(config.device)
        set_threads(config.threads)
        self.data = data if data is not None else TrainingData.load(config.data)
        if config.model.styles != self.data.style_names:
            config.model.styles = self.data.style_names
        config.validate()
        torch.manual_seed(config.seed)  # network initialisation
        self.nets = Networks.build(config, self.device)
        opt = config.optim
        betas = (opt.beta1, opt.beta2)
        self.opt_g = torch.optim.Adam(self.nets.generator_params(), lr=opt.lr, betas=betas)
        self.opt_d = torch.optim.Adam(
            self.nets.discriminator_params(), lr=opt.lr_d or opt.lr, betas=betas
        )
        self.sampler = BatchSampler(self.data, config.data, config.batch_size)
        smallest = min(len(s) for s in self.data.styles)
        self.diffaug = diffaug_enabled(opt.diffaug, smallest)
        self.step = 0
        self.elapsed = 0.0
        self.nce_ids = nce_layer_ids(len(self.nets.net.generator.nce_channels), opt.nce_layers)
        self.sample_inputs = self.data.sample_inputs(
            SAMPLE_IMAGES, config.data.load_size, config.model.size_multiple
        )

    # ----------------------------------------------------------------- state
    @property
    def model_path(self) -> Path:
        return self.run_dir / checkpoint.MODEL_NAME

    @property
    def state_path(self) -> Path:
        return self.run_dir / checkpoint.STATE_NAME

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}

    def save(self) -> None:
        """Training state first (what resume reads), then the model file users ship."""
        progress = {"step": self.step, "elapsed": self.elapsed}
        checkpoint.save_state(
            self.state_path, self.nets.modules(), self.optimizers(), self.config, progress
        )
        extra = {"step": self.step, "styles": self.config.model.styles}
        checkpoint.save_model(self.model_path, self.nets.ema.model, self.config, extra)

    def restore(self) -> None:
        progress = checkpoint.load_state(self.state_path, self.nets.modules(), self.optimizers())
        self.step = int(progress["step"])
        self.elapsed = float(progress["elapsed"])

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
        for group in self.opt_g.param_groups:
            group["lr"] = opt.lr * scale
        for group in self.opt_d.param_groups:
            group["lr"] = (opt.lr_d or opt.lr) * scale

    def run(self, stop_at: int | None = None) -> TrainResult:
        """Train until the step or time budget (or `stop_at`, for tests) is reached."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        cfg = self.config
        metrics = MetricsLog(self.run_dir, resume_step=self.step)
        totals: dict[str, float] = defaultdict(float)
        counted = 0
        bar = tqdm(total=cfg.steps, initial=self.step, desc="training", unit="it", disable=None)
        interrupted = False
        try:
            while not self.done() and (stop_at is None or self.step < stop_at):
                started = time.perf_counter()
                self.set_learning_rate()
                losses = self.train_step(seed_step(cfg.seed, self.step))
                self.step += 1
                self.nets.ema.update(self.nets.net, self.step)
                self.elapsed += time.perf_counter() - started
                for key, value in losses.items():
                    totals[key] += value
                counted += 1
                bar.update(1)
                if self.step % cfg.log_every == 0:
                    means = {k: v / counted for k, v in totals.items()}
                    metrics.write(self.step, {**means, "lr": self.opt_g.param_groups[0]["lr"]})
                    bar.set_postfix({k.split("/")[-1]: f"{v:.3f}" for k, v in means.items()})
                    totals.clear()
                    counted = 0
                if self.step % cfg.sample_every == 0:
                    self.write_samples()
                if self.step % cfg.save_every == 0:
                    self.save()
        except KeyboardInterrupt:
            interrupted = True
            log.warning("interrupted at step %d; saving a checkpoint", self.step)
        finally:
            bar.close()
            metrics.close()
        self.save()
        self.write_samples()
        plot_losses(metrics.path, self.run_dir / LOSS_PLOT_NAME)
        return TrainResult(self.model_path, self.step, self.elapsed, interrupted)

    # ----------------------------------------------------------------- one step
    def train_step(self, gen: torch.Generator) -> dict[str, float]:
        """One discriminator update then one generator update; returns the losses."""
        opt, nets = self.config.optim, self.nets
        dev = self.device
        content = self.sampler.content(gen).to(dev)
        style, labels = self.sampler.style(gen)
        style, labels = style.to(dev), labels.to(dev)
        use_ref = opt.ref_every > 0 and self.step % opt.ref_every == opt.ref_every - 1
        codes = self.draw_codes(labels, style, use_ref, gen)
        fake = nets.net(content, codes)
        back_codes = back_fake = None
        if nets.back is not None:
            zeros = torch.zeros_like(labels)
            back_codes = nets.back.style_codes(zeros, gen)
            back_fake = nets.back(style, back_codes)

        # discriminator
        nets.disc.requires_grad_(True)
        real_in = style.requires_grad_(opt.r1_gamma > 0)
        real_logits = nets.disc(self.for_disc(real_in, gen), labels)
        fake_logits = nets.disc(self.for_disc(fake.detach(), gen), labels)
        loss_d = discriminator_loss(real_logits, fake_logits, opt.gan_loss)
        losses = {"loss/d": float(loss_d.detach())}
        if opt.r1_gamma > 0:
            r1 = r1_penalty(real_logits, real_in)
            loss_d = loss_d + 0.5 * opt.r1_gamma * r1
            losses["loss/r1"] = float(r1.detach())
        if nets.disc_back is not None:
            zeros = torch.zeros_like(labels)
            loss_db = discriminator_loss(
                nets.disc_back(content, zeros),
                nets.disc_back(back_fake.detach(), zeros),
                opt.gan_loss,
            )
            loss_d = loss_d + loss_db
            losses["loss/d_back"] = float(loss_db.detach())
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        style = style.detach()

        # generator
        nets.disc.requires_grad_(False)
        fake_logits = nets.disc(self.for_disc(fake, gen), labels)
        loss_g = opt.lambda_gan * generator_loss(fake_logits, opt.gan_loss)
        losses["loss/g_gan"] = float(loss_g.detach())
        for key, value in self.style_terms(
            content, style, labels, codes, fake, use_ref, gen
        ).items():
            losses[f"loss/{key}"] = float(value.detach())
            loss_g = loss_g + value
        content_loss = self.content_loss(content, style, fake, codes, back_codes, back_fake, gen)
        if opt.lambda_color > 0:
            content_loss["color"] = opt.lambda_color * F.l1_loss(
                F.avg_pool2d(fake, COLOR_POOL), F.avg_pool2d(content, COLOR_POOL)
            )
        for key, value in content_loss.items():
            losses[f"loss/{key}"] = float(value.detach())
            loss_g = loss_g + value
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        if not math.isfinite(losses["loss/g_gan"]) or not math.isfinite(losses["loss/d"]):
            raise StyleforgeError(f"training diverged at step {self.step} (non-finite loss)")
        return losses

    def draw_codes(
        self, labels: torch.Tensor, refs: torch.Tensor, use_ref: bool, gen: torch.Generator
    ) -> torch.Tensor:
        """Style codes from noise, or (reference steps) from the encoder on style images."""
        net = self.nets.net
        if use_ref:
            order = torch.randperm(refs.shape[0], generator=gen).to(refs.device)
            same_style = labels[order] == labels
            order = torch.where(same_style, order, torch.arange(len(order), device=refs.device))
            return net.encoder(refs[order], labels)
        return net.style_codes(labels, gen)

    def for_disc(self, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """What the discriminator sees: differentiably augmented images when DiffAugment is on."""
        return diff_augment(images, gen) if self.diffaug else images

    def style_terms(self, content, style, labels, codes, fake, use_ref, gen):
        """Style reconstruction and diversity (StarGAN v2), already weighted; {} when off."""
        opt, net = self.config.optim, self.nets.net
        terms = {}
        if opt.lambda_sty > 0:
            terms["sty"] = opt.lambda_sty * F.l1_loss(net.encoder(fake, labels), codes)
        ds_weight = opt.lambda_ds * (1.0 - self.progress_fraction())
        if ds_weight > 0:
            other = self.draw_codes(labels, style, use_ref, gen)
            fake2 = net(content, other)
            terms["ds"] = -ds_weight * (fake - fake2.detach()).abs().mean()
        return terms

    def content_loss(self, content, style, fake, codes, back_codes, back_fake, gen):
        """The content-preserving terms of the chosen `content_loss`, already weighted."""
        opt, nets = self.config.optim, self.nets
        kind = opt.content_loss
        if kind == "identity":
            return {"pixel": opt.lambda_pixel * F.l1_loss(fake, content)}
        if kind == "nce":
            gen_net = nets.net.generator
            loss = nets.nce(
                self.nce_feats(gen_net.encode(content, codes)),
                self.nce_feats(gen_net.encode(fake, codes)),
                gen,
            )
            terms = {"nce": opt.lambda_nce * loss}
            if opt.nce_idt:
                same = nets.net(style, codes)
                idt = nets.nce(
                    self.nce_feats(gen_net.encode(style, codes)),
                    self.nce_feats(gen_net.encode(same, codes)),
                    gen,
                )
                terms["nce_idt"] = opt.lambda_nce * idt
            return terms
        if kind == "cycle":
            zeros = torch.zeros(content.shape[0], dtype=torch.long, device=content.device)
            nets.disc_back.requires_grad_(False)
            adv_back = generator_loss(nets.disc_back(back_fake, zeros), opt.gan_loss)
            cycle = F.l1_loss(nets.back(fake, back_codes), content) + F.l1_loss(
                nets.net(back_fake, codes), style
            )
            identity = F.l1_loss(nets.net(style, codes), style) + F.l1_loss(
                nets.back(content, back_codes), content
            )
            nets.disc_back.requires_grad_(True)
            return {
                "g_gan_back": opt.lambda_gan * adv_back,
                "cycle": opt.lambda_cycle * cycle,
                "identity": opt.lambda_cycle * opt.lambda_identity * identity,
            }
        return {}

    def nce_feats(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        return [feats[i] for i in self.nce_ids]

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
        save_grid(self.run_dir / "samples" / f"step_{self.step:06d}.png", rows)


def resume_trainer(run_dir: Path, steps: int | None = None, time_budget: float | None = None):
    """A Trainer restored from a run folder's training state; steps/time can be extended."""
    state = Path(run_dir) / checkpoint.STATE_NAME
    if not state.exists():
        raise StyleforgeError(f"nothing to resume: {state} does not exist")
    config = checkpoint.read_state_config(state)
    if steps is not None:
        config.steps = steps
    if time_budget is not None:
        config.time_budget = time_budget
    trainer = Trainer(config, run_dir)
    trainer.restore()
    return trainer

"""One training step: a discriminator update, then a generator update, with their losses.

The step owns the two optimisers. A step whose loss or gradients are not finite on any rank
updates nothing (no optimiser step) and reports itself as skipped; counting skips and rolling
back is the loop's and the state's business.

Every rank draws the randomness of the whole global batch (images, augmentation, noise,
DiffAugment, reference permutations) from the step's generator and keeps its own rows, so one
step of N processes with batch b is one step of one process with batch N*b (see `trainer`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from styleforge.config import TrainConfig
from styleforge.data.datasets import BatchSampler
from styleforge.data.diffaug import diff_augment, diffaug_enabled
from styleforge.losses import discriminator_loss, generator_loss, r1_penalty
from styleforge.training import distributed
from styleforge.training.batch import StepBatch
from styleforge.training.content_terms import ContentTerms
from styleforge.training.networks import Networks
from styleforge.training.runtime import Runtime
from styleforge.training.structure import StructureTerm

# test hook: (step, "d" or "g", loss) -> loss; lets tests inject NaN/inf into a real run
FaultHook = Callable[[int, str, torch.Tensor], torch.Tensor]


class TrainStep:
    """The losses and updates of one step, for the networks, batches and device given."""

    def __init__(
        self, config: TrainConfig, nets: Networks, sampler: BatchSampler, runtime: Runtime
    ):
        self.config, self.nets, self.sampler, self.runtime = config, nets, sampler, runtime
        opt = config.optim
        betas = (opt.beta1, opt.beta2)
        self.opt_g = torch.optim.Adam(nets.generator_params(), lr=opt.lr, betas=betas)
        self.opt_d = torch.optim.Adam(
            nets.discriminator_params(), lr=opt.lr_d or opt.lr, betas=betas
        )
        smallest = min(len(s) for s in sampler.data.styles)
        self.diffaug = diffaug_enabled(opt.diffaug, smallest)
        self.diffaug_parts = opt.diffaug_parts
        self.structure = StructureTerm(opt, runtime.device)
        self.w = runtime.wrap(nets, config.compile, double_backward=opt.r1_gamma > 0)
        self.content_terms = ContentTerms(opt, nets, self.w)
        self.fault_hook: FaultHook | None = None
        self.skipped = ""  # the part whose last skipped step was not finite

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}

    def set_learning_rates(self, scale: float) -> None:
        opt = self.config.optim
        for group in self.opt_g.param_groups:
            group["lr"] = opt.lr * scale
        for group in self.opt_d.param_groups:
            group["lr"] = (opt.lr_d or opt.lr) * scale

    def __call__(self, gen: torch.Generator, step: int, progress: float) -> dict[str, float]:
        """Train on one batch; the losses (means over the ranks), or {} for a skipped step.

        `step` picks reference steps and feeds the fault hook; `progress` (0..1) decays the
        diversity term."""
        opt, nets, w, rt = self.config.optim, self.nets, self.w, self.runtime
        content = rt.to_device(self.sampler.content(gen))
        style, labels = self.sampler.style(gen)
        style, labels = rt.to_device(style), labels.to(rt.device)
        use_ref = opt.ref_every > 0 and step % opt.ref_every == opt.ref_every - 1

        # discriminator: real and fake forwards, then one backward (DDP reduces D's gradients)
        with rt.autocast():
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
        loss_d = self.inject(step, "d", loss_d)
        loss_d.backward()
        d_ok = self.all_finite(loss_d, nets.discriminator_params())
        if d_ok:  # a bad step still runs its generator pass: DDP expects every backward
            self.opt_d.step()

        # generator: D frozen (called outside DDP: it has no gradient to reduce)
        nets.disc.requires_grad_(False)
        batch = StepBatch(
            content,
            style.detach(),
            labels,
            codes,
            source,
            fake,
            gen,
            use_ref,
            back_codes,
            back_fake,
        )
        with rt.autocast():
            fake_logits = w.disc_fixed(self.for_disc(fake, gen), labels)
            loss_g = opt.lambda_gan * generator_loss(fake_logits, opt.gan_loss)
            losses["loss/g_gan"] = float(loss_g.detach())
            terms = self.style_terms(batch, progress)
            terms.update(self.content_terms(batch))
            terms.update(self.structure(source, fake))
            for key, value in terms.items():
                losses[f"loss/{key}"] = float(value.detach())
                loss_g = loss_g + value
        self.opt_g.zero_grad(set_to_none=True)
        loss_g = self.inject(step, "g", loss_g)
        loss_g.backward()
        if not (self.all_finite(loss_g, nets.generator_params()) and d_ok):
            return self.skip("generator" if d_ok else "discriminator")
        self.opt_g.step()
        return distributed.all_mean(losses, rt.world)  # every rank sees the same numbers

    def inject(self, step: int, which: str, loss: torch.Tensor) -> torch.Tensor:
        """The loss, or what the test-only `fault_hook` makes of it."""
        return loss if self.fault_hook is None else self.fault_hook(step, which, loss)

    def all_finite(self, loss: torch.Tensor, params: list[torch.nn.Parameter]) -> bool:
        """Whether the loss and every gradient are finite, agreed by every rank (one sync)."""
        total = loss.detach().double().sum()
        grads = [p.grad.detach() for p in params if p.grad is not None]
        if grads:
            total = total + torch.stack(torch._foreach_norm(grads)).double().sum()
        ok = 1.0 if bool(torch.isfinite(total)) else 0.0
        world = self.runtime.world
        if world.enabled:  # a NaN on one rank skips the step on all of them
            ok = distributed.all_mean({"ok": ok}, world)["ok"]
        return ok > 0.999

    def skip(self, which: str) -> dict[str, float]:
        """Drop this step's update (the networks keep their weights); {} marks it skipped and
        `skipped` says which network's loss or gradients were not finite."""
        self.opt_d.zero_grad(set_to_none=True)
        self.opt_g.zero_grad(set_to_none=True)
        self.skipped = which
        return {}

    def noise_codes(
        self, mapping: torch.nn.Module, labels: torch.Tensor, gen: torch.Generator
    ) -> torch.Tensor:
        """Style codes from fresh noise: drawn for the global batch, this rank's rows kept."""
        rows = self.sampler.rows
        latent = self.nets.net.mapping.latent_dim
        z = torch.randn(self.sampler.global_batch, latent, generator=gen)[rows.start : rows.stop]
        return mapping(z.to(self.runtime.device), labels)

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

    def style_terms(self, b: StepBatch, progress: float) -> dict[str, torch.Tensor]:
        """Style reconstruction and diversity (StarGAN v2), already weighted; {} when off."""
        opt, w = self.config.optim, self.w
        terms = {}
        if opt.lambda_sty > 0:
            learnt = self.config.model.style_dim  # the statistics offsets are the same
            terms["sty"] = opt.lambda_sty * F.l1_loss(
                w.encoder(b.fake, b.labels)[:, :learnt], b.codes[:, :learnt]
            )
        ds_weight = opt.lambda_ds * (1.0 - progress)
        if ds_weight > 0:
            other = self.draw_codes(b.labels, b.style, b.use_ref, b.gen)
            with torch.no_grad():  # the second variant is a fixed target (StarGAN v2 detaches)
                fake2 = w.gen(b.content, other)
            terms["ds"] = -ds_weight * (b.fake - fake2).abs().mean()
        return terms

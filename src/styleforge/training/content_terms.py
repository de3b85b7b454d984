"""The generator's content-preserving terms of the chosen `content_loss`, already weighted.

PatchNCE (CUT: a patch of the output should match the same patch of the input, plus its
identity term on style images), CycleGAN's cycle and identity terms with the backward
generator's adversarial term, or L1 to the input. The structure term (`structure.py`) is
separate: it combines with any of these.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from styleforge.config import OptimConfig
from styleforge.losses import generator_loss
from styleforge.training.batch import StepBatch
from styleforge.training.networks import Networks, Wrapped, nce_layer_ids


class ContentTerms:
    """Computes the terms through the step's (possibly DDP-wrapped) networks."""

    def __init__(self, optim: OptimConfig, nets: Networks, wrapped: Wrapped):
        self.optim, self.nets, self.w = optim, nets, wrapped
        self.nce_ids = nce_layer_ids(len(nets.net.generator.nce_channels), optim.nce_layers)

    def __call__(self, b: StepBatch) -> dict[str, torch.Tensor]:
        """The terms for one generator step: {name: weighted loss}. `b.source` is the content as
        the network starts from it (through the statistics transfer): what the output keeps."""
        opt, nets, w = self.optim, self.nets, self.w
        content, source, style, fake, codes, gen = (
            b.content,
            b.source,
            b.style,
            b.fake,
            b.codes,
            b.gen,
        )
        kind = opt.content_loss
        if kind == "identity":
            return {"pixel": opt.lambda_pixel * F.l1_loss(fake, source)}
        if kind == "nce":
            loss = w.nce(
                self.nce_feats(w.gen(source, codes, method="encode")),
                self.nce_feats(w.gen(fake, codes, method="encode")),
                gen,
            )
            terms = {"nce": opt.lambda_nce * loss}
            if opt.nce_idt:
                same = w.gen(style, codes)
                idt = w.nce(
                    self.nce_feats(w.gen(style, codes, method="encode")),
                    self.nce_feats(w.gen(same, codes, method="encode")),
                    gen,
                )
                terms["nce_idt"] = opt.lambda_nce * idt
            return terms
        if kind == "cycle":
            zeros = torch.zeros(content.shape[0], dtype=torch.long, device=content.device)
            nets.disc_back.requires_grad_(False)
            adv_back = generator_loss(w.disc_back_fixed(b.back_fake, zeros), opt.gan_loss)
            cycle = F.l1_loss(w.back_gen(fake, b.back_codes), content) + F.l1_loss(
                w.gen(b.back_fake, codes), style
            )
            identity = F.l1_loss(w.gen(style, codes), style) + F.l1_loss(
                w.back_gen(content, b.back_codes), content
            )
            nets.disc_back.requires_grad_(True)
            return {
                "g_gan_back": opt.lambda_gan * adv_back,
                "cycle": opt.lambda_cycle * cycle,
                "identity": opt.lambda_cycle * opt.lambda_identity * identity,
            }
        return {}

    def nce_feats(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        """The encoder maps PatchNCE compares."""
        return [feats[i] for i in self.nce_ids]

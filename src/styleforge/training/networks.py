"""The set of networks a training run optimises, built from its config."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from styleforge.config import TrainConfig
from styleforge.losses import PatchNCE
from styleforge.models.discriminator import PatchDiscriminator
from styleforge.models.stylenet import StyleNet
from styleforge.training.ema import EMA


@dataclass
class Networks:
    """Generator side (net, PatchNCE heads, CycleGAN's backward net) and discriminators."""

    net: StyleNet
    disc: PatchDiscriminator
    ema: EMA
    nce: PatchNCE | None = None
    back: StyleNet | None = None  # style -> content generator, for content_loss=cycle
    disc_back: PatchDiscriminator | None = None

    @classmethod
    def build(cls, config: TrainConfig, device: torch.device) -> Networks:
        model, optim = config.model, config.optim
        net = StyleNet(model).to(device)
        disc = PatchDiscriminator(model).to(device)
        nce = back = disc_back = None
        if optim.content_loss == "nce":
            chans = net.generator.nce_channels
            ids = nce_layer_ids(len(chans), optim.nce_layers)
            nce = PatchNCE([chans[i] for i in ids], optim.nce_patches, optim.nce_temperature)
            nce = nce.to(device)
        if optim.content_loss == "cycle":
            # back to photos: nothing fitted or chosen for that direction
            back_cfg = dataclasses.replace(
                model, styles=["content"], stats_transfer=False, output_filter=False
            )
            back = StyleNet(back_cfg).to(device)
            disc_back = PatchDiscriminator(back_cfg).to(device)
        return cls(net, disc, EMA(net, optim.ema_beta), nce, back, disc_back)

    def modules(self) -> dict[str, nn.Module]:
        """Every module whose state a checkpoint keeps, by a stable name."""
        named = {
            "net": self.net,
            "disc": self.disc,
            "ema": self.ema.model,
            "nce": self.nce,
            "back": self.back,
            "disc_back": self.disc_back,
        }
        return {name: module for name, module in named.items() if module is not None}

    def generator_params(self) -> list[nn.Parameter]:
        parts = [self.net, self.nce, self.back]
        return [p for part in parts if part is not None for p in part.parameters()]

    def discriminator_params(self) -> list[nn.Parameter]:
        parts = [self.disc, self.disc_back]
        return [p for part in parts if part is not None for p in part.parameters()]


def nce_layer_ids(total: int, layers: int) -> list[int]:
    """Which of the encoder's `total` feature maps PatchNCE compares: the first ones and the
    deepest, `layers` + 1 in all (or every one when there are fewer)."""
    return list(range(min(layers, total - 1))) + [total - 1]


@dataclass
class Wrapped:
    """How the training step calls each network: through its own DDP when distributed, compiled
    with `--compile`; the plain network (behind `distributed.Calls`) otherwise."""

    gen: torch.nn.Module
    mapping: torch.nn.Module
    encoder: torch.nn.Module
    disc: torch.nn.Module  # the discriminator step (parameters trained)
    disc_fixed: torch.nn.Module  # generator steps (D frozen: no DDP, no gradient to reduce)
    nce: torch.nn.Module | None = None
    back_gen: torch.nn.Module | None = None
    back_mapping: torch.nn.Module | None = None
    disc_back: torch.nn.Module | None = None
    disc_back_fixed: torch.nn.Module | None = None

"""Where a run's networks execute: the process group, the device, the precision, the wrappers.

One `Runtime` per training process. Under torchrun (see `distributed` and
docs/distributed.md) each trained network sits in its own DDP; the discriminator used in a
generator step is called outside DDP, since it has no gradient to reduce then. On CUDA the
networks and batches use the channels-last layout that cuDNN's fast convolutions want.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch
from torch import nn

from styleforge.config import TrainConfig
from styleforge.device import set_threads
from styleforge.inference.fastpath import autocast, to_layout
from styleforge.training import distributed
from styleforge.training.networks import Networks, Wrapped

log = logging.getLogger(__name__)


def training_precision(precision: str, device: torch.device) -> str:
    """`auto` is bf16 autocast on CUDA and fp32 on the CPU (asked-for bf16 runs on both)."""
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return precision


@dataclass(frozen=True)
class Runtime:
    """This process's place in the run, its device and how its forward passes compute."""

    world: distributed.World
    precision: str  # bf16 or fp32
    channels_last: bool

    @classmethod
    def start(cls, config: TrainConfig) -> Runtime:
        """Join the process group (if torchrun started one) and set the CPU threads."""
        world = distributed.setup(config.device)
        set_threads(config.threads)
        precision = training_precision(config.precision, world.device)
        return cls(world, precision, channels_last=world.device.type == "cuda")

    @property
    def device(self) -> torch.device:
        return self.world.device

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast for the forward passes (no gradient scaling needed for bf16)."""
        return autocast(self.device, self.precision)

    def to_device(self, images: torch.Tensor) -> torch.Tensor:
        return to_layout(images.to(self.device, non_blocking=True), self.channels_last)

    def place(self, nets: Networks) -> None:
        """Lay the networks out for this device and make batch norm global across ranks."""
        if self.channels_last:  # NHWC: what cuDNN's fast convolutions (and bf16) want
            for module in nets.modules().values():
                module.to(memory_format=torch.channels_last)
        trained = [m for name, m in nets.modules().items() if name != "ema"]
        distributed.convert_batch_norm(trained, self.world)

    def wrap(self, nets: Networks, compile: bool, double_backward: bool) -> Wrapped:
        """The networks as training calls them: in DDP (and compiled, if asked) where trained.

        `double_backward` (R1) keeps the discriminators eager: compiled graphs have none."""
        world = self.world
        compile_d = compile and not double_backward
        if compile and not compile_d:
            log.info("--compile: the discriminators stay eager (R1 needs double backward)")

        def wrap(module: nn.Module | None, compiled: bool = compile) -> nn.Module | None:
            return None if module is None else distributed.wrap(module, world, compiled)

        def fixed(wrapped: nn.Module | None) -> nn.Module | None:
            return None if wrapped is None else distributed.unwrap(wrapped)

        back = nets.back
        disc, disc_back = wrap(nets.disc, compile_d), wrap(nets.disc_back, compile_d)
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

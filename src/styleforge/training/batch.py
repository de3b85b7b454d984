"""The tensors of one training step, as the loss terms read them."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class StepBatch:
    """One step's images, codes and outputs (this rank's rows of the global batch)."""

    content: torch.Tensor  # content photos
    style: torch.Tensor  # style images (what the discriminator sees as real)
    labels: torch.Tensor  # each style image's style, and the style each output is drawn in
    codes: torch.Tensor  # the style codes the outputs were drawn with
    source: torch.Tensor  # the content through the statistics transfer: what the output keeps
    fake: torch.Tensor  # the outputs
    gen: torch.Generator  # the step's random stream (the same on every rank)
    use_ref: bool  # whether the codes came from reference images
    back_codes: torch.Tensor | None = None  # CycleGAN's backward generator, when present
    back_fake: torch.Tensor | None = None

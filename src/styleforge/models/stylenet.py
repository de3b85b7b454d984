"""The shipped network: a generator plus the networks that make its style codes."""

from __future__ import annotations

import torch
from torch import nn

from styleforge.config import ModelConfig
from styleforge.models.generator import Generator
from styleforge.models.style import MappingNetwork, StyleEncoder


class StyleNet(nn.Module):
    """Generator, mapping network and style encoder: what a model file holds, what EMA averages."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.generator = Generator(cfg)
        self.mapping = MappingNetwork(cfg)
        self.encoder = StyleEncoder(cfg)

    def forward(self, x: torch.Tensor, style_code: torch.Tensor) -> torch.Tensor:
        return self.generator(x, style_code)

    def style_codes(self, labels: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        """Codes for labels from fresh noise drawn with `gen`."""
        return self.mapping.random_codes(labels, gen)

    @torch.no_grad()
    def mean_codes(self, labels: torch.Tensor, samples: int = 1000) -> torch.Tensor:
        """Average style code of each label over a fixed set of noise draws."""
        gen = torch.Generator().manual_seed(12345)
        z = torch.randn(samples, self.mapping.latent_dim, generator=gen).to(labels.device)
        means = []
        for label in range(self.cfg.num_styles):
            lab = torch.full((samples,), label, dtype=torch.long, device=labels.device)
            means.append(self.mapping(z, lab).mean(0))
        return torch.stack(means)[labels]

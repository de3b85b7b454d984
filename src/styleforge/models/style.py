"""Mapping network: random noise z plus a style label -> style code (as in StarGAN v2).

A shared MLP followed by one head per style, so a model holds many styles and the noise gives
varied outputs. The one-style case is simply one head.
"""

from __future__ import annotations

import torch
from torch import nn

from styleforge.config import ModelConfig


class MappingNetwork(nn.Module):
    def __init__(self, cfg: ModelConfig, hidden: int = 128, shared_layers: int = 2):
        super().__init__()
        layers: list[nn.Module] = []
        width = cfg.latent_dim
        for _ in range(shared_layers):
            layers += [nn.Linear(width, hidden), nn.ReLU(True)]
            width = hidden
        self.shared = nn.Sequential(*layers)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(True), nn.Linear(hidden, cfg.style_dim))
            for _ in range(cfg.num_styles)
        )
        self.latent_dim = cfg.latent_dim

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.shared(z)
        codes = torch.stack([head(h) for head in self.heads], dim=1)  # (N, styles, style_dim)
        return codes[torch.arange(z.shape[0], device=z.device), labels]

    def random_codes(self, labels: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        """Style codes for the given labels from fresh noise."""
        z = torch.randn(labels.shape[0], self.latent_dim, generator=gen)
        return self(z.to(labels.device), labels)

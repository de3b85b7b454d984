"""Where style codes come from (as in StarGAN v2).

The mapping network turns random noise z plus a style label into a code: a shared MLP, then one
head per style, so a model holds many styles and the noise gives varied outputs. The style
encoder turns a reference image into a code of a given style. The one-style case is one head.
Both end every code with the style's fixed numbers (`StyleOffsets`): its statistics-transfer
offsets and its output filter's weight, when the model has them, so whatever makes or mixes codes
carries them along.
"""

from __future__ import annotations

import torch
from torch import nn

from styleforge.config import STATISTICS_PARAMETERS, ModelConfig


class StyleOffsets(nn.Module):
    """Each style's fixed numbers, appended to its codes: the statistics transfer's offsets
    (fitted before training) and the output filter's weight (chosen at its end; 0: off)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.stats_transfer:
            self.register_buffer("table", torch.zeros(cfg.num_styles, STATISTICS_PARAMETERS))
        if cfg.output_filter:
            self.register_buffer("output_filter", torch.zeros(cfg.num_styles, 1))

    def forward(self, codes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        fixed = [getattr(self, name, None) for name in ("table", "output_filter")]
        return torch.cat([codes, *(t[labels].to(codes.dtype) for t in fixed if t is not None)], 1)


def style_offsets(cfg: ModelConfig) -> StyleOffsets | None:
    return StyleOffsets(cfg) if cfg.stats_transfer or cfg.output_filter else None


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
            nn.Sequential(
                nn.Linear(hidden, hidden), nn.ReLU(True), nn.Linear(hidden, cfg.style_dim)
            )
            for _ in range(cfg.num_styles)
        )
        self.latent_dim = cfg.latent_dim
        self.offsets = style_offsets(cfg)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.shared(z)
        codes = torch.stack([head(h) for head in self.heads], dim=1)  # (N, styles, style_dim)
        codes = codes[torch.arange(z.shape[0], device=z.device), labels]
        return codes if self.offsets is None else self.offsets(codes, labels)

    def random_codes(
        self, labels: torch.Tensor, gen: torch.Generator | None = None
    ) -> torch.Tensor:
        """Style codes for the given labels from fresh noise."""
        z = torch.randn(labels.shape[0], self.latent_dim, generator=gen)
        return self(z.to(labels.device), labels)


class StyleEncoder(nn.Module):
    """Reference image -> style code, one head per style; small and resolution-independent."""

    def __init__(self, cfg: ModelConfig, width: int = 16, max_width: int = 128, depth: int = 4):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, 1, 1)]
        ch = width
        for _ in range(depth):
            out = min(ch * 2, max_width)
            layers += [nn.LeakyReLU(0.2), nn.Conv2d(ch, out, 4, 2, 1)]
            ch = out
        layers += [nn.LeakyReLU(0.2), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        self.heads = nn.Linear(ch, cfg.style_dim * cfg.num_styles)
        self.style_dim = cfg.style_dim
        self.offsets = style_offsets(cfg)

    def forward(self, image: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        codes = self.heads(self.body(image)).view(image.shape[0], -1, self.style_dim)
        codes = codes[torch.arange(image.shape[0], device=image.device), labels]
        return codes if self.offsets is None else self.offsets(codes, labels)

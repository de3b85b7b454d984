"""Discriminator heads on frozen EfficientNet-Lite0 feature maps (as Projected GANs do).

Why: a pixel PatchGAN trained from scratch needs hundreds of steps before its judgement means
more than "sharper" or "darker"; pretrained features already tell paper from sky and a pencil
stroke from fur, so small heads on them learn the style's look within minutes of CPU. The
network stays frozen and outside the module's parameters and state (not trained, not saved:
it is rebuilt from its pip package); gradients still flow through it to the generator.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

FEATURE_STOP = 4  # blocks up to here: the stride-4 and stride-8 maps (texture, strokes, paper)


class FeatureHeads(nn.Module):
    """One small convolutional head per feature map; per-style logit maps."""

    def __init__(self, outputs: int, width: int, wrap: Callable[[nn.Module], nn.Module]):
        super().__init__()
        from styleforge.evaluation.features import EfficientNetLite0

        features = EfficientNetLite0("cpu")
        with torch.no_grad():
            probe = features.feature_maps(torch.zeros(1, 3, 64, 64), stop=FEATURE_STOP)
        self.heads = nn.ModuleList(
            nn.Sequential(
                wrap(nn.Conv2d(m.shape[1], width, 3, 1, 1)),
                nn.LeakyReLU(0.2, True),
                wrap(nn.Conv2d(width, outputs, 1)),
            )
            for m in probe
        )
        self._frozen = [features]  # a list, not an attribute module: not trained, not saved

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Images in [-1, 1] -> one (N, outputs, h, w) logit map per feature map."""
        features = self._frozen[0]
        if features.device != x.device:
            features.net.to(x.device)
            features.device = x.device
        maps = features.feature_maps(features.from_signed_unit(x), stop=FEATURE_STOP)
        return [head(m) for head, m in zip(self.heads, maps, strict=True)]

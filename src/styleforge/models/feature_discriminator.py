"""Discriminator heads on frozen EfficientNet-Lite0 feature maps (as Projected GANs do).

Why: a pixel PatchGAN trained from scratch needs hundreds of steps before its judgement means
more than "sharper" or "darker"; pretrained features already tell paper from sky and a stroke
from fur, so small heads on them can judge a style's look sooner (Projected GANs converge in
far fewer steps). Measured on the quality benchmark's 3-minute screens it moved outputs sooner
but not towards the styles (docs/quality.md), so it is off by default. The network is frozen
and held outside the module (not trained, not saved: one shared copy per device, loaded from
its pip package); gradients still flow through it to the generator.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from styleforge.evaluation.features import frozen_features

FEATURE_STOP = 4  # blocks up to here: the stride-4 and stride-8 maps (texture, strokes, paper)


class FeatureHeads(nn.Module):
    """One small convolutional head per feature map; per-style logit maps."""

    def __init__(self, outputs: int, width: int, wrap: Callable[[nn.Module], nn.Module]):
        super().__init__()
        with torch.no_grad():
            probe = frozen_features("cpu").feature_maps(
                torch.zeros(1, 3, 64, 64), stop=FEATURE_STOP
            )
        self.heads = nn.ModuleList(
            nn.Sequential(
                wrap(nn.Conv2d(m.shape[1], width, 3, 1, 1)),
                nn.LeakyReLU(0.2, True),
                wrap(nn.Conv2d(width, outputs, 1)),
            )
            for m in probe
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Images in [-1, 1] -> one (N, outputs, h, w) logit map per feature map."""
        features = frozen_features(x.device)  # looked up, not held: not trained, not saved
        maps = features.feature_maps(features.from_signed_unit(x), stop=FEATURE_STOP)
        return [head(m) for head, m in zip(self.heads, maps, strict=True)]

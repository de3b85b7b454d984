"""Discriminator heads on frozen EfficientNet-Lite0 feature maps (as Projected GANs do).

Why: a pixel PatchGAN trained from scratch needs hundreds of steps before its judgement means
more than "sharper" or "darker"; pretrained features already tell a flat cartoon region from
fur, an outline from a shadow and paper from sky, so small heads on them judge a style's look
from the first steps (Projected GANs converge many times faster and work on small sets). The
maps go down to stride 16, where a head sees a region's look (flat colour and outlines, paper
and strokes) rather than one texture: heads on the stride-4 and stride-8 maps alone moved
outputs towards finer texture, not towards the styles (docs/research-log.md). The network is
frozen and held outside the module (not trained, not saved: one shared copy per device, loaded
from its pip package); gradients still flow through it to the generator.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from styleforge.models.pretrained import frozen_features

FEATURE_STOP = 10  # blocks up to here: the stride-4, 8 and 16 maps (texture to regions)


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

"""PatchGAN discriminator with one real/fake output map per style.

Each style is judged against its own images: the output channel of the image's style is read.
With 3 stride-2 layers and 64 base channels this is CycleGAN's 70x70 PatchGAN.

`disc_input="luma"` makes it judge luminance only (texture, edges, shading) and not palette, like
White-box Cartoonization's texture discriminator: when content and style sets differ in colour,
an RGB discriminator teaches colour fringes that a colour anchor then has to fight.
`disc_input="split"` shows it luminance at full resolution and chroma blurred over
SPLIT_CHROMA_POOL-pixel blocks: it can judge a palette or a colour grade, but a one-pixel colour
fringe along an edge is invisible to it, so it cannot ask for one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from styleforge.config import ModelConfig
from styleforge.models.feature_discriminator import FeatureHeads
from styleforge.models.layers import luminance, make_norm

SPLIT_CHROMA_POOL = 8
INPUT_CHANNELS = {"rgb": 3, "luma": 1, "split": 4}


def split_view(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 4, H, W): sharp luminance, chroma averaged over coarse blocks."""
    luma = luminance(x)
    chroma = F.avg_pool2d(x - luma, SPLIT_CHROMA_POOL, ceil_mode=True)
    chroma = F.interpolate(chroma, size=x.shape[2:], mode="bilinear", align_corners=False)
    return torch.cat([luma, chroma], dim=1)


def patch_net(
    cfg: ModelConfig, outputs: int, wrap: Callable[[nn.Module], nn.Module]
) -> nn.Sequential:
    """CycleGAN's PatchGAN layers for this config's view, `outputs` logit maps."""
    norm = "none" if cfg.spectral_norm else cfg.norm
    layers: list[nn.Module] = [
        wrap(nn.Conv2d(INPUT_CHANNELS[cfg.disc_input], cfg.ndf, 4, 2, 1)),
        nn.LeakyReLU(0.2, True),
    ]
    ch = cfg.ndf
    for i in range(1, cfg.d_layers + 1):
        out = cfg.ndf * min(2**i, 8)
        stride = 2 if i < cfg.d_layers else 1
        layers += [
            wrap(nn.Conv2d(ch, out, 4, stride, 1)),
            make_norm(norm, out),
            nn.LeakyReLU(0.2, True),
        ]
        ch = out
    layers.append(wrap(nn.Conv2d(ch, outputs, 4, 1, 1)))
    return nn.Sequential(*layers)


class PatchDiscriminator(nn.Module):
    def __init__(self, cfg: ModelConfig, num_outputs: int | None = None):
        super().__init__()
        outputs = num_outputs or cfg.num_styles
        self.view = cfg.disc_input
        wrap = spectral_norm if cfg.spectral_norm else (lambda m: m)
        self.net = patch_net(cfg, outputs, wrap)
        self.feature_heads = FeatureHeads(outputs, cfg.ndf, wrap) if cfg.disc_features else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Logit maps (N, views, h, w) for each image's own style: the pixel view, then (with
        feature heads) one per feature map, each resized to the pixel view's size so that every
        view weighs the same in the loss."""
        rgb = x
        if self.view == "luma":
            x = luminance(x)
        elif self.view == "split":
            x = split_view(x)
        out = self.net(x)
        size = out.shape[2:]
        index = labels.view(-1, 1, 1, 1).expand(-1, 1, *size)
        views = [out.gather(1, index)]
        if self.feature_heads is not None:
            for logits in self.feature_heads(rgb):
                views.append(F.adaptive_avg_pool2d(logits, size).gather(1, index))
        return torch.cat(views, dim=1)

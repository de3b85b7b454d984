"""Anchors that tie each output to its own input, beside the content loss of the chosen kind.

Colour: L1 between block averages (`color_pool` pixels a side) of output and input: keeps the
palette and layout, leaves edges and texture free. With `luma_pool` set, luminance is compared on
its own, coarser blocks and the colour blocks see chroma only: an ink line may darken an edge
without a compensating bright fringe beside it, but may not paint it a new colour. With
`color_anchor="relative"` each image's own mean (per channel) is taken out first: the layout of
light and colour is kept, while a global shift (a colour grade, a brighter paper) is free.

Structure (`lambda_feat`): how far each position's EfficientNet-Lite0 feature vector turned
from the input's, at strides 4 and 8 (channel-normalised maps, squared distance: LPIPS without
its learnt weights). A unit vector says which pattern is there, not how strong it is, so the
term keeps shapes, edges and layout where they are while colour, contrast, line weight and
texture stay free: content kept as structure, not pixels (CartoonGAN and White-box
cartoonization keep content on a pretrained network's features the same way). Pixel and
block-colour anchors hold the output on the photo and keep the style out (docs/research-log.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from styleforge.config import OptimConfig
from styleforge.models.layers import luminance

FEATURE_BLOCK = 4  # EfficientNet-Lite0 blocks up to here (strides 4 and 8) are compared


def _block_l1(a: torch.Tensor, b: torch.Tensor, pool: int) -> torch.Tensor:
    return F.l1_loss(F.avg_pool2d(a, pool), F.avg_pool2d(b, pool))


class ContentAnchors:
    """The weighted anchor terms that are switched on; {} when both weights are 0."""

    def __init__(self, optim: OptimConfig, device: torch.device):
        self.lambda_color = optim.lambda_color
        self.lambda_color_end = optim.lambda_color_end
        self.color_pool = optim.color_pool
        self.luma_pool = optim.luma_pool
        self.relative = optim.color_anchor == "relative"
        self.lambda_feat = optim.lambda_feat
        self.features = None
        if self.lambda_feat > 0:
            from styleforge.models.pretrained import frozen_features

            self.features = frozen_features(device)

    def colour_weight(self, progress: float) -> float:
        """The colour anchor's weight `progress` (0..1) of the way through training."""
        if self.lambda_color_end is None:
            return self.lambda_color
        return self.lambda_color + (self.lambda_color_end - self.lambda_color) * progress

    def __call__(
        self, content: torch.Tensor, fake: torch.Tensor, progress: float = 0.0, shrink: int = 1
    ) -> dict[str, torch.Tensor]:
        """`shrink`: how many times the images are scaled down (progressive resolution); the
        blocks shrink with them, so they cover the same part of the scene."""
        terms = {}
        weight = self.colour_weight(progress)
        if weight > 0:
            terms["color"] = weight * self.colour_distance(content, fake, shrink)
        if self.features is not None:
            terms["feat"] = self.lambda_feat * self.structure_distance(content, fake)
        return terms

    def structure_distance(self, content: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Mean squared distance of channel-normalised feature maps, averaged over the maps."""
        to_net = self.features.from_signed_unit
        with torch.no_grad():
            targets = self.features.feature_maps(to_net(content), stop=FEATURE_BLOCK)
        maps = self.features.feature_maps(to_net(fake), stop=FEATURE_BLOCK)
        return sum(
            (F.normalize(m.float(), dim=1) - F.normalize(t.float(), dim=1)).pow(2).sum(1).mean()
            for m, t in zip(maps, targets, strict=True)
        ) / len(maps)

    def colour_distance(
        self, content: torch.Tensor, fake: torch.Tensor, shrink: int = 1
    ) -> torch.Tensor:
        color_pool = max(1, self.color_pool // shrink)
        luma_pool = max(1, self.luma_pool // shrink) if self.luma_pool else 0
        if self.relative:
            content = _mean_free(content)
            fake = _mean_free(fake)
        if not luma_pool:
            return _block_l1(fake, content, color_pool)
        luma_f, luma_c = luminance(fake), luminance(content)
        chroma = _block_l1(fake - luma_f, content - luma_c, color_pool)
        return chroma + _block_l1(luma_f, luma_c, luma_pool)


def _mean_free(x: torch.Tensor) -> torch.Tensor:
    return x - x.mean(dim=(2, 3), keepdim=True)

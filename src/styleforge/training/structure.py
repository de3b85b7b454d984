"""The structure term: content kept as shapes, edges and layout, not as pixels.

How far each position's EfficientNet-Lite0 feature vector turned from the input's, at strides 4
and 8 (channel-normalised maps, squared distance: LPIPS without its learnt weights). A unit
vector says which pattern is there, not how strong it is, so the term keeps shapes, edges and
layout where they are while colour, contrast, line weight and texture stay free (CartoonGAN and
White-box cartoonization keep content on a pretrained network's features the same way). Pixel
and block-colour anchors, tried before it, held the output on the photo and kept the style out
(docs/research-log.md). It combines with any content loss of `content_terms`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from styleforge.config import OptimConfig

FEATURE_BLOCK = 4  # EfficientNet-Lite0 blocks up to here (strides 4 and 8) are compared


class StructureTerm:
    """`lambda_feat` times the structure distance of outputs to their inputs; {} when 0."""

    def __init__(self, optim: OptimConfig, device: torch.device):
        self.weight = optim.lambda_feat
        self.features = None
        if self.weight > 0:
            from styleforge.models.pretrained import frozen_features

            self.features = frozen_features(device)

    def __call__(self, content: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.features is None:
            return {}
        return {"feat": self.weight * self.distance(content, fake)}

    def distance(self, content: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Mean squared distance of channel-normalised feature maps, averaged over the maps."""
        to_net = self.features.from_signed_unit
        with torch.no_grad():
            targets = self.features.feature_maps(to_net(content), stop=FEATURE_BLOCK)
        maps = self.features.feature_maps(to_net(fake), stop=FEATURE_BLOCK)
        return sum(
            (F.normalize(m.float(), dim=1) - F.normalize(t.float(), dim=1)).pow(2).sum(1).mean()
            for m, t in zip(maps, targets, strict=True)
        ) / len(maps)

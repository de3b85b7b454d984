"""Feature statistics of the style set: a direct, non-adversarial signal for texture and palette.

The channel means and spreads of EfficientNet-Lite0's early feature maps describe texture and
colour regardless of layout (as in AdaIN's style loss). The outputs' statistics, averaged over
the images of one style in the batch, are pulled towards a running average (over steps) of those
of that style's real images: the style set's typical statistics, not one batch's. A GAN
discriminator needs hundreds of steps before its gradient says "smoother" or "paler"; this term
says it from the first step. Measured on the quality benchmark it moved outputs towards the
style sets but drew the wrong texture (docs/research-log.md), so it is off by default.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

STATS_BLOCK = 4  # blocks up to here (strides 4 and 8): texture, not objects
TARGET_MOMENTUM = 0.9  # the running average of the style images' statistics


def _stats(maps: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per layer: (2, C) batch-averaged channel means and standard deviations."""
    out = []
    for fmap in maps:
        flat = fmap.float().flatten(2)
        out.append(torch.stack([flat.mean(2).mean(0), flat.std(2).mean(0)]))
    return out


class StyleStatistics:
    """L1 between feature statistics of outputs and real style images, per style in the batch."""

    def __init__(self, weight: float, device: torch.device):
        from styleforge.models.pretrained import frozen_features

        self.weight = weight
        self.features = frozen_features(device)
        self.targets: dict[int, list[torch.Tensor]] = {}

    def maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.features.feature_maps(self.features.from_signed_unit(x), stop=STATS_BLOCK)

    def __call__(
        self, fake: torch.Tensor, style: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """`labels`: the style of each row of both batches (outputs made for real style images)."""
        with torch.no_grad():
            real_maps = self.maps(style)
        fake_maps = self.maps(fake)
        total = fake.new_zeros(())
        present = labels.unique().tolist()
        for label in present:
            pick = labels == label
            want = self._update_target(label, _stats([m[pick] for m in real_maps]))
            have = _stats([m[pick] for m in fake_maps])
            total = total + sum(F.l1_loss(h, w) for h, w in zip(have, want, strict=True))
        return self.weight * total / len(present)

    def state(self) -> dict[str, list]:
        """The running targets as JSON-ready lists, saved in the training state for resume."""
        return {str(k): [t.tolist() for t in v] for k, v in self.targets.items()}

    def load_state(self, state: dict[str, list], device: torch.device) -> None:
        self.targets = {
            int(k): [torch.tensor(t, device=device) for t in v] for k, v in state.items()
        }

    def _update_target(self, label: int, batch: list[torch.Tensor]) -> list[torch.Tensor]:
        old = self.targets.get(label)
        if old is not None:
            batch = [o.lerp(b, 1 - TARGET_MOMENTUM) for o, b in zip(old, batch, strict=True)]
        self.targets[label] = batch
        return batch

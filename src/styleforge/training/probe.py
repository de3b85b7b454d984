"""The style probe's share while training: how many of the EMA's outputs look like the style.

The probe is the quality benchmark's (`evaluation.style_measures.StyleProbe`: a logistic
regression on frozen EfficientNet-Lite0 features of five crops per image), one per style,
fitted once when a run starts on the run's own decoded images at the load size: at most
FIT_IMAGES photos, and FIT_IMAGES style images shared among the styles. It is read on the
sample grid's outputs, at most SCORED_IMAGES of them shared among the styles, so that neither
the fit nor an evaluation costs more with more styles. The sample photos are fixed: held-out
test images when the data has them (`--data` with testA/), else the first content images,
which the run also trains on; the share shows a run's trend, not the benchmark's figure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import torch

from styleforge.data.augment import uint8_to_pil, unit_to_pil
from styleforge.data.datasets import TrainingData
from styleforge.evaluation.style_measures import StyleProbe
from styleforge.evaluation.style_task import crop_features
from styleforge.models.pretrained import EfficientNetLite0, frozen_features

log = logging.getLogger(__name__)

FIT_IMAGES = 16  # photos, and style images over all styles, the probes are fitted on
SCORED_IMAGES = 4  # sample outputs scored per evaluation, over all styles (one each at least)


def evenly_spaced(images: Sequence[torch.Tensor], count: int) -> list[torch.Tensor]:
    """At most `count` of `images`, spread through the folder rather than its first ones."""
    step = max(1, -(-len(images) // count))
    return list(images[::step])


class TrainingProbe:
    """One style probe per style of a run, fitted on its decoded images."""

    def __init__(self, data: TrainingData, device: torch.device):
        started = time.perf_counter()
        self.net: EfficientNetLite0 = frozen_features(device)
        self.names = data.style_names
        per_style = max(1, FIT_IMAGES // len(data.styles))
        photos = self.features(evenly_spaced(data.content.images, FIT_IMAGES))
        self.probes = [
            StyleProbe(photos, self.features(evenly_spaced(style.images, per_style)))
            for style in data.styles
        ]
        self.fit_seconds = time.perf_counter() - started
        log.info("style probe fitted in %.1f s", self.fit_seconds)

    def features(self, images: list[torch.Tensor]) -> np.ndarray:
        """Pooled features of five crops of each uint8 (3, H, W) image."""
        return crop_features(self.net, [uint8_to_pil(img) for img in images])

    def probabilities(self, style: int, outputs: torch.Tensor) -> np.ndarray:
        """The probability style `style`'s probe gives each of the (N, 3, H, W) outputs in
        [-1, 1] (the mean over its five crops)."""
        features = crop_features(self.net, [unit_to_pil(x) for x in outputs])
        per_crop = self.probes[style].probabilities(features)
        return per_crop.reshape(len(outputs), -1).mean(1)

    def shares(self, outputs: Sequence[torch.Tensor]) -> dict[str, float]:
        """`probe/share` (the mean over styles) and, for several styles, `probe/share/NAME`,
        from `outputs[i]`: the (N, 3, H, W) sample outputs in [-1, 1] for style i, of which the
        first SCORED_IMAGES / styles are scored."""
        count = max(1, SCORED_IMAGES // len(self.probes))
        per_style = {
            name: probe.share(crop_features(self.net, [unit_to_pil(x) for x in batch[:count]]))
            for name, probe, batch in zip(self.names, self.probes, outputs, strict=True)
        }
        values = {"probe/share": float(np.mean(list(per_style.values())))}
        if len(per_style) > 1:
            values.update({f"probe/share/{name}": share for name, share in per_style.items()})
        return values

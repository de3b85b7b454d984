"""Each style's choice of the output filter, made once at the end of a run by its style probe.

The output filter (`Generator.filter_output`) removes what the decoder draws where the photo is
flat. For some looks that is the look (cartoon, oil: flat patches, outlines kept), for others it
takes the look away (pencil's hatching on white paper, a colour grade that keeps the photo's
texture). No one setting suits every style (docs/research-log.md, fifteenth and sixteenth
rounds), and the run has a judge without a truth: its style probe. Each style's outputs on the
sample photos are scored at filter weights 0, 0.5 and 1, and the weight the probe takes most
for the style is kept, among 0 and the weights whose gain over 0 is clear (`choose`). While
training the weight is 0: the discriminator judges the decoder's own drawing (the filter
inside the loop lost).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from styleforge.models.stylenet import StyleNet
from styleforge.training.probe import TrainingProbe

log = logging.getLogger(__name__)

NOISE_SEED = 4321  # the codes the choice is made with, the same in every run
WEIGHTS = (0.0, 0.5, 1.0)  # the filter weights a style chooses among (half: most of a
# cartoon's gain where the whole filter's was within chance, sixteenth round)
MARGIN = 2.0  # a weight above 0 must beat 0 by this many standard errors of its paired gain


@dataclass(frozen=True)
class FilterChoice:
    """One style's chosen filter weight, with the probe's mean style probability at each
    candidate and each one's gain over weight 0 in standard errors (paired over the photos)."""

    weight: float
    probabilities: dict[float, float]
    t_values: dict[float, float]


@torch.no_grad()
def set_weights(nets: Iterable[StyleNet], chosen: dict[str, FilterChoice] | None) -> None:
    """Give every net's codes each style's chosen filter weight (all 0 for None)."""
    for net in nets:
        weights = [[chosen[name].weight if chosen else 0.0] for name in net.cfg.styles]
        for offsets in (net.mapping.offsets, net.encoder.offsets):
            offsets.output_filter.copy_(torch.tensor(weights))


def choice_metrics(chosen: dict[str, FilterChoice]) -> dict[str, float]:
    """The choices as metrics.jsonl and TensorBoard values: `output_filter/NAME` (the weight)
    and `output_filter/NAME/probability_at_W` (the probe's style probability at weight W)."""
    values = {}
    for name, choice in chosen.items():
        values[f"output_filter/{name}"] = choice.weight
        for weight, probability in choice.probabilities.items():
            values[f"output_filter/{name}/probability_at_{weight:g}"] = probability
    return values


def t_value(gains: np.ndarray) -> float:
    """The mean of paired gains over its standard error; 0 for a single photo (no evidence)."""
    if len(gains) < 2:
        return 0.0
    error = gains.std(ddof=1) / np.sqrt(len(gains))
    mean = float(gains.mean())
    if error > 0:
        return mean / error
    return 0.0 if mean == 0 else float(np.sign(mean)) * np.inf


@torch.no_grad()
def choose(
    net: StyleNet, probe: TrainingProbe, photos: torch.Tensor, weights: tuple[float, ...] = WEIGHTS
) -> dict[str, FilterChoice]:
    """Per style name, the filter weight at which the probe takes `net`'s outputs of `photos`
    (N, 3, H, W in [-1, 1], on the net's device) most for the style, among 0 and the weights
    whose gain over 0 is clear (MARGIN standard errors): a probe fitted on a few images moves
    by chance, and an unneeded filter costs the photo's texture. `net`'s weights must be 0."""
    gen = torch.Generator().manual_seed(NOISE_SEED)
    chosen = {}
    for style, name in enumerate(net.cfg.styles):
        labels = torch.full((photos.shape[0],), style, dtype=torch.long, device=photos.device)
        raw = net(photos, net.style_codes(labels, gen))
        change = net.generator.filter_output(raw, photos) - raw
        at = {w: probe.probabilities(style, raw + w * change) for w in sorted({0.0, *weights})}
        t_values = {w: t_value(p - at[0.0]) for w, p in at.items()}
        clear = [w for w in at if w == 0.0 or t_values[w] > MARGIN]
        best = max(clear, key=lambda w: float(at[w].mean()))
        probabilities = {w: float(p.mean()) for w, p in at.items()}
        chosen[name] = FilterChoice(best, probabilities, t_values)
        shown = ", ".join(f"{probabilities[w]:.2f} at {w:g} (t {t_values[w]:+.1f})" for w in at)
        log.info("output filter for %s: weight %g (style probability %s)", name, best, shown)
    return chosen

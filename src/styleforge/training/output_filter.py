"""Each style's choice of the output filter, made once at the end of a run by its style probe.

The output filter (`Generator.filter_output`) removes what the decoder draws where the photo is
flat. For some looks that is the look (cartoon, oil: flat patches, outlines kept), for others it
takes the look away (pencil's hatching on white paper, a colour grade that keeps the photo's
texture). No one setting suits every style (docs/research-log.md, fifteenth and sixteenth
rounds), and the run has a judge without a truth: its style probe. Each style's outputs on the
sample photos are scored with and without the filter, and the filter is kept where the probe
takes the filtered outputs more for the style. While training the weight is 0: the
discriminator judges the decoder's own drawing (the filter inside the loop lost).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from styleforge.models.stylenet import StyleNet
from styleforge.training.probe import TrainingProbe

log = logging.getLogger(__name__)

NOISE_SEED = 4321  # the codes the choice is made with, the same in every run


@torch.no_grad()
def set_weights(nets: Iterable[StyleNet], chosen: dict[str, FilterChoice] | None) -> None:
    """Give every net's codes the filter weight 1 for the styles `chosen` turns on, else 0 (all
    0 for None)."""
    for net in nets:
        weights = [[float(bool(chosen and chosen[name].on))] for name in net.cfg.styles]
        for offsets in (net.mapping.offsets, net.encoder.offsets):
            offsets.output_filter.copy_(torch.tensor(weights))


@dataclass(frozen=True)
class FilterChoice:
    """One style's choice, with the probe's mean style probability either way."""

    on: bool
    unfiltered: float
    filtered: float


def choice_metrics(chosen: dict[str, FilterChoice]) -> dict[str, float]:
    """The choices as metrics.jsonl and TensorBoard values: `output_filter/NAME` 1 (on) or 0,
    and the probe's style probability unfiltered and filtered."""
    values = {}
    for name, choice in chosen.items():
        key = f"output_filter/{name}"
        values |= {key: float(choice.on), f"{key}/unfiltered": choice.unfiltered}
        values[f"{key}/filtered"] = choice.filtered
    return values


@torch.no_grad()
def choose(net: StyleNet, probe: TrainingProbe, photos: torch.Tensor) -> dict[str, FilterChoice]:
    """Per style name, whether the probe prefers `net`'s outputs of `photos` (N, 3, H, W in
    [-1, 1], on the net's device) filtered; `net`'s filter weights must be 0."""
    gen = torch.Generator().manual_seed(NOISE_SEED)
    chosen = {}
    for style, name in enumerate(net.cfg.styles):
        labels = torch.full((photos.shape[0],), style, dtype=torch.long, device=photos.device)
        raw = net(photos, net.style_codes(labels, gen))
        filtered = net.generator.filter_output(raw, photos)
        before, after = probe.probability(style, raw), probe.probability(style, filtered)
        chosen[name] = FilterChoice(after > before, before, after)
        log.info(
            "output filter for %s: %s (style probability %.2f unfiltered, %.2f filtered)",
            name,
            "on" if after > before else "off",
            before,
            after,
        )
    return chosen

"""The generator's forward pass as a list of steps over one explicit state.

Tiled inference must stop every tile at a normalisation's input, gather the whole image's
statistics there, and resume each tile where it stopped (`inference/tile_cache.py`). With the
state explicit (a `Flow`) and the pass a list of `Step`s, the plain forward and the tiler run
the same steps: the tiler keeps each tile's `Flow` between them instead of recomputing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn


class Flow:
    """What the steps pass along for one batch."""

    def __init__(self, photo: torch.Tensor, code: torch.Tensor, style: torch.Tensor):
        self.photo = photo  # the input: the output filter follows its edges
        self.code = code  # the whole style code (the statistics offsets ride at its end)
        self.style = style  # the learnt part, which modulates the residual blocks
        self.x = photo  # the image the network changes (statistics transfer, controls)
        self.h = photo  # the feature map; after the head, the output
        self.skip: torch.Tensor | None = None  # a residual block's input, while inside it

    def nbytes(self) -> int:
        """Bytes of the per-pixel tensors held (the codes are shared and small)."""
        held = {id(t): t for t in (self.photo, self.x, self.h, self.skip) if t is not None}
        return sum(t.nelement() * t.element_size() for t in held.values())


class Step(NamedTuple):
    """One step of the pass; `norm` is the normalisation it starts with (its input is the
    flow's `h`), None when it starts with none."""

    run: Callable[[Flow], None]
    norm: nn.Module | None = None


def on_features(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[Flow], None]:
    """A step that maps the feature map alone."""

    def run(flow: Flow) -> None:
        flow.h = fn(flow.h)

    return run


def run_steps(steps: list[Step], flow: Flow) -> Flow:
    """Run `steps` on `flow` in order (the plain forward)."""
    for step in steps:
        step.run(flow)
    return flow

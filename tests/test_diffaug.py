"""DiffAugment: same randomness for a given generator, shapes kept, gradients pass through."""

from __future__ import annotations

import pytest
import torch

from styleforge.config import OptimConfig
from styleforge.data.diffaug import diff_augment, diffaug_enabled
from styleforge.errors import StyleforgeError


def test_deterministic_and_shape_preserving() -> None:
    x = torch.rand(3, 3, 32, 40) * 2 - 1
    a = diff_augment(x, torch.Generator().manual_seed(0))
    b = diff_augment(x, torch.Generator().manual_seed(0))
    c = diff_augment(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    # cutout zeroes a block in every image
    assert all(bool((img == 0).all(dim=0).any()) for img in a)


def test_gradients_reach_the_input() -> None:
    x = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_(True)
    diff_augment(x, torch.Generator().manual_seed(3)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_auto_mode_threshold() -> None:
    assert diffaug_enabled("auto", 20) and not diffaug_enabled("auto", 5000)
    assert diffaug_enabled("on", 5000) and not diffaug_enabled("off", 3)


def test_policy_without_colour_keeps_every_pixel_value() -> None:
    """translation + cutout only move pixels or zero them: no value is made that x lacks, and the
    draws that follow are the same as under the full policy."""
    x = torch.rand(2, 3, 24, 24) * 0.5 + 0.25  # no zeros of its own
    gen = torch.Generator().manual_seed(5)
    out = diff_augment(
        x, gen, policy=OptimConfig(diffaug_policy="translation,cutout").diffaug_parts
    )
    after = torch.rand(1, generator=gen)
    values = set(x.flatten().tolist()) | {0.0}
    assert set(out.flatten().tolist()) <= values and (out == 0).any()
    full_gen = torch.Generator().manual_seed(5)
    full = diff_augment(x, full_gen)
    assert not set(full.flatten().tolist()) <= values  # colour changes values
    assert torch.equal(torch.rand(1, generator=full_gen), after)


def test_colour_only_policy_does_not_move_or_cut() -> None:
    x = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.25
    out = diff_augment(
        x,
        torch.Generator().manual_seed(2),
        policy=OptimConfig(diffaug_policy="colour").diffaug_parts,
    )
    assert (out != 0).all()
    # a colour change is one affine map per image and channel mix: the ranks of the grey
    # values within an image stay put, which a translation would not keep
    # (up to float rounding between near-equal values)
    grey_in, grey_out = x.mean(1).flatten(1), out.mean(1).flatten(1)
    in_order = grey_out.gather(1, grey_in.argsort(1))
    steps = in_order[:, 1:] - in_order[:, :-1]
    assert (steps >= -1e-6).all()


def test_bad_policy_is_refused() -> None:
    for bad in ("", "color", "colour,blur"):
        with pytest.raises(StyleforgeError, match="choose one or more of colour, translation"):
            OptimConfig(diffaug_policy=bad).diffaug_parts  # noqa: B018
    assert OptimConfig(diffaug_policy=" cutout , colour").diffaug_parts == {"cutout", "colour"}

"""The pretrained feature network (EfficientNet-Lite0)."""

from __future__ import annotations

import torch

from styleforge.models.pretrained import EfficientNetLite0


def test_loading_the_feature_network_leaves_the_seeded_rng_alone() -> None:
    """A seeded run's networks must not depend on whether this process loaded it before."""
    torch.manual_seed(0)
    expected = torch.rand(4)
    torch.manual_seed(0)
    EfficientNetLite0()
    assert torch.equal(torch.rand(4), expected)

"""The discriminator: one verdict per style, what each view sees, the frozen feature heads."""

from __future__ import annotations

import torch

from conftest import preset
from styleforge.models.discriminator import PatchDiscriminator
from styleforge.models.pretrained import frozen_features


def test_discriminator_reads_each_style_head() -> None:
    cfg = preset("lite", styles=["a", "b", "c"], disc_input="rgb", disc_features=False)
    disc = PatchDiscriminator(cfg)
    x = torch.rand(3, 3, 64, 64)
    full = disc.net(x)
    picked = disc(x, torch.tensor([2, 0, 1]))
    assert picked.shape[1] == 1
    assert torch.equal(picked[0, 0], full[0, 2]) and torch.equal(picked[2, 0], full[2, 1])


def test_luma_discriminator_is_blind_to_palette_but_not_to_shading() -> None:
    torch.manual_seed(0)
    gray = torch.rand(1, 1, 64, 64) * 2 - 1
    # two images of equal luminance (0.299 R + 0.587 G + 0.114 B) but different colours
    tint = torch.tensor([0.3, -0.3 * 0.299 / 0.587, 0.0]).view(1, 3, 1, 1)
    plain, tinted = gray.expand(-1, 3, -1, -1), gray.expand(-1, 3, -1, -1) + tint
    labels = torch.zeros(1, dtype=torch.long)
    luma = PatchDiscriminator(preset("lite", disc_input="luma", disc_features=False))
    rgb = PatchDiscriminator(preset("lite", disc_features=False))
    assert torch.allclose(luma(plain, labels), luma(tinted, labels), atol=1e-5)
    assert not torch.allclose(rgb(plain, labels), rgb(tinted, labels), atol=1e-3)
    assert not torch.allclose(luma(plain, labels), luma(plain * 0.5, labels), atol=1e-3)


def test_split_discriminator_sees_a_palette_but_not_a_one_pixel_fringe() -> None:
    torch.manual_seed(0)
    gray = (torch.rand(1, 1, 64, 64) * 2 - 1).expand(-1, 3, -1, -1)
    labels = torch.zeros(1, dtype=torch.long)
    split = PatchDiscriminator(preset("lite", disc_input="split", disc_features=False))
    # a red/cyan fringe: alternating columns, equal luminance, zero mean over each 8-px block
    fringe = torch.tensor([0.3, -0.3 * 0.299 / 0.587, 0.0]).view(1, 3, 1, 1)
    columns = (torch.arange(64) % 2 * 2 - 1).view(1, 1, 1, 64).float()
    assert torch.allclose(split(gray, labels), split(gray + fringe * columns, labels), atol=1e-5)
    # the same tint over the whole image (a colour grade) changes its verdict
    assert not torch.allclose(split(gray, labels), split(gray + fringe, labels), atol=1e-3)


def test_feature_heads_judge_frozen_features_that_are_neither_trained_nor_saved() -> None:
    cfg = preset("lite", styles=["a", "b"], disc_input="rgb", disc_features=True)
    disc = PatchDiscriminator(cfg)
    plain = PatchDiscriminator(
        preset("lite", styles=["a", "b"], disc_input="rgb", disc_features=False)
    )
    # only the small heads are added: no EfficientNet-Lite0 weight in parameters or state
    added = {k for k in disc.state_dict() if not k.startswith("net.")}
    assert added and all(k.startswith("feature_heads.heads.") for k in added)
    extra = sum(p.numel() for p in disc.parameters()) - sum(p.numel() for p in plain.parameters())
    assert 0 < extra < 500_000  # EfficientNet-Lite0 alone has 4.65 M
    x = (torch.rand(2, 3, 64, 64) * 2 - 1).requires_grad_(True)
    labels = torch.tensor([1, 0])
    out = disc(x, labels)
    assert out.shape[:2] == (2, 4)  # the pixel view and the stride-4, 8 and 16 feature views
    index = labels.view(-1, 1, 1, 1).expand(-1, 1, *out.shape[2:])
    assert torch.equal(out[:, :1], disc.net(x).gather(1, index))  # view 0: the pixel PatchGAN
    out[:, 1:].sum().backward()  # the feature views reach the images through the frozen network
    assert float(x.grad.abs().sum()) > 0
    assert all(p.grad is None for p in frozen_features("cpu").net.parameters())
    assert all(p.grad is not None for p in disc.feature_heads.heads.parameters())

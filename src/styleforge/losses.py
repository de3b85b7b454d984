"""GAN objectives, the R1 penalty and CUT's PatchNCE content loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Loss D minimises given its logits on real and generated images."""
    if kind == "bce":  # -log D(x) - log(1 - D(G(c)))
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    raise ValueError(f"unknown GAN loss {kind!r}")


def generator_loss(fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Loss G minimises given D's logits on its images (non-saturating for bce)."""
    if kind == "bce":  # -log D(G(c))
        return F.softplus(-fake).mean()
    if kind == "lsgan":
        return (fake - 1).pow(2).mean()
    if kind == "hinge":
        return -fake.mean()
    raise ValueError(f"unknown GAN loss {kind!r}")


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """Squared gradient norm of D's output at real images (Mescheder et al., 2018)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


class PatchNCE(nn.Module):
    """Contrastive patch loss: a patch of the output should match the same patch of the input.

    One small MLP per encoder layer projects features; for each sampled location, the input's
    feature at that location is the positive and the other sampled locations are negatives.
    """

    def __init__(self, channels: list[int], patches: int = 256, temperature: float = 0.07):
        super().__init__()
        self.patches = patches
        self.temperature = temperature
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(c, 256), nn.ReLU(True), nn.Linear(256, 256)) for c in channels
        )

    def forward(
        self,
        source_feats: list[torch.Tensor],
        output_feats: list[torch.Tensor],
        gen: torch.Generator | None = None,
    ) -> torch.Tensor:
        total = source_feats[0].new_zeros(())
        for head, src, out in zip(self.heads, source_feats, output_feats, strict=True):
            n, c, h, w = src.shape
            count = min(self.patches, h * w)
            ids = torch.randperm(h * w, generator=gen)[:count].to(src.device)
            k = head(src.flatten(2)[:, :, ids].transpose(1, 2).detach())  # (N, P, 256)
            q = head(out.flatten(2)[:, :, ids].transpose(1, 2))
            k, q = F.normalize(k, dim=-1), F.normalize(q, dim=-1)
            logits = torch.bmm(q, k.transpose(1, 2)) / self.temperature  # (N, P, P)
            target = torch.arange(count, device=src.device).expand(n, count)
            total = total + F.cross_entropy(logits.flatten(0, 1), target.flatten())
        return total / len(self.heads)

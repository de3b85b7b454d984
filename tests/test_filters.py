"""Box mean and guided filter."""

from __future__ import annotations

import skimage.data
import torch

from styleforge.models.filters import box_mean


def test_box_mean_from_running_sums_is_the_average_pool() -> None:
    """The running-sum box mean equals the border-aware average pool it replaced, on a real
    photo; a box wider than the image gives every pixel the whole image's mean."""
    photo = torch.from_numpy(skimage.data.astronaut()[::8, ::6].copy()).permute(2, 0, 1)
    x = photo[None].float() / 127.5 - 1  # (1, 3, 64, 86)
    for radius in (1, 4, 9):
        pool = torch.nn.functional.avg_pool2d(x, 2 * radius + 1, 1, radius, count_include_pad=False)
        assert torch.allclose(box_mean(x, radius), pool, atol=1e-5)
    whole = x.mean(dim=(2, 3), keepdim=True).expand_as(x)
    assert torch.allclose(box_mean(x, 100), whole, atol=1e-5)

"""Distribution distances: the Fréchet distance's closed form, an unbiased kernel distance, small
sets named, and FD/KD on EfficientNet features telling photos from cartoons."""

from __future__ import annotations

import numpy as np
import pytest

from styleforge.data.demo import photo as demo_photo
from styleforge.data.procedural import cartoon
from styleforge.evaluation.distances import (
    frechet_distance,
    frechet_from_moments,
    kernel_distance,
    small_set_warning,
)
from styleforge.models.pretrained import EfficientNetLite0


def test_frechet_distance_matches_the_gaussian_closed_form() -> None:
    rng = np.random.default_rng(1)
    dim = 4
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    var1, var2 = rng.uniform(0.5, 2.0, dim), rng.uniform(0.5, 2.0, dim)
    # diagonal covariances commute: FD = |mu1 - mu2|^2 + sum (s1 + s2 - 2 sqrt(s1 s2))
    closed = np.sum((mu1 - mu2) ** 2) + np.sum(var1 + var2 - 2 * np.sqrt(var1 * var2))
    exact = frechet_from_moments(mu1, np.diag(var1), mu2, np.diag(var2))
    assert exact == pytest.approx(closed, rel=1e-9)
    # a rotated (non-diagonal) pair: FD is invariant to a common rotation of both sets
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    rotated = frechet_from_moments(
        q @ mu1, q @ np.diag(var1) @ q.T, q @ mu2, q @ np.diag(var2) @ q.T
    )
    assert rotated == pytest.approx(closed, rel=1e-6)
    # sampled sets converge to the closed form
    a = mu1 + rng.normal(size=(200_000, dim)) * np.sqrt(var1)
    b = mu2 + rng.normal(size=(200_000, dim)) * np.sqrt(var2)
    assert frechet_distance(a, b) == pytest.approx(closed, rel=0.02)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_kernel_distance_is_unbiased_near_zero_for_one_distribution() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 16)), rng.normal(size=(300, 16))
    shifted = rng.normal(size=(300, 16)) + 0.5
    same = kernel_distance(a, b, subsets=20, subset_size=200)
    other = kernel_distance(a, shifted, subsets=20, subset_size=200)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert other.mean > 10 * max(abs(same.mean), same.std)


def test_small_sets_are_named_in_a_warning() -> None:
    assert small_set_warning(100, 60) is None
    assert "only 3 images" in small_set_warning(3, 80)


def _crops(name: str, size: int = 160) -> list[np.ndarray]:
    """The four corner crops of a packaged photo: more samples from few images."""
    img = np.asarray(demo_photo(name))
    return [img[:size, :size], img[:size, -size:], img[-size:, :size], img[-size:, -size:]]


@pytest.mark.slow
def test_fd_enl0_photos_are_closer_to_photos_than_to_cartoons(enl0: EfficientNetLite0) -> None:
    photos_a = [c for n in ("astronaut", "rocket", "coffee") for c in _crops(n)]
    photos_b = [c for n in ("chelsea", "motorcycle_left", "china") for c in _crops(n)]
    feats_a, feats_b = enl0.pooled(photos_a), enl0.pooled(photos_b)
    feats_cartoon = enl0.pooled([cartoon(c) for c in photos_b])
    assert frechet_distance(feats_a, feats_b) < frechet_distance(feats_a, feats_cartoon)
    assert kernel_distance(feats_a, feats_b).mean < kernel_distance(feats_a, feats_cartoon).mean

"""Distances between two sets of feature vectors: Fréchet (FID-style) and kernel (KID-style).

Both take (N, D) arrays from the same feature network; the metric's name says which network
(FD-ENL0 on EfficientNet-Lite0, FID only on the standard Inception weights).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg

# Under this many images per set a distance is reported with a warning: FD's covariance has
# rank < N, which biases it upward, and KD's spread across subsets grows large.
MIN_STABLE_IMAGES = 50


def frechet_from_moments(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)): the Fréchet distance of two Gaussians."""
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        # a singular product (few samples): nudge both diagonals, as the reference code does
        offset = np.eye(sigma1.shape[0]) * 1e-6
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """Matrix square root; singular products (small sets) are expected, so no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.sqrtm(matrix)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (each needs 2+ rows)."""
    _check_sets(a, b, minimum=2)
    return frechet_from_moments(
        a.mean(axis=0), np.cov(a, rowvar=False), b.mean(axis=0), np.cov(b, rowvar=False)
    )


@dataclass
class KernelDistance:
    mean: float
    std: float  # spread over the random subsets


def kernel_distance(
    a: np.ndarray,
    b: np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> KernelDistance:
    """Unbiased squared MMD with the cubic polynomial kernel (x.y/d + 1)^3, averaged over subsets.

    Unbiased: its expectation is 0 when both sets come from one distribution, so small sets do
    not inflate it (the estimate can come out slightly negative)."""
    _check_sets(a, b, minimum=2)
    size = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    values = [
        _mmd2_unbiased(
            a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)]
        )
        for _ in range(subsets)
    ]
    return KernelDistance(float(np.mean(values)), float(np.std(values)))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    dim = x.shape[1]
    k_xx = (x @ x.T / dim + 1) ** 3
    k_yy = (y @ y.T / dim + 1) ** 3
    k_xy = (x @ y.T / dim + 1) ** 3
    m = len(x)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.mean())


def small_set_warning(*sizes: int) -> str | None:
    """A sentence for reports when a set is too small for a stable distance, else None."""
    smallest = min(sizes)
    if smallest >= MIN_STABLE_IMAGES:
        return None
    return (
        f"only {smallest} images in the smallest set (< {MIN_STABLE_IMAGES}): FD is biased "
        "upward and KD varies widely at this size; compare runs only on the same sets"
    )


def _check_sets(a: np.ndarray, b: np.ndarray, minimum: int) -> None:
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be (N, D) with equal D, got {a.shape} and {b.shape}")
    if len(a) < minimum or len(b) < minimum:
        raise ValueError(f"each feature set needs at least {minimum} rows")

"""Per-step seeding: every step's randomness is a pure function of (run seed, step).

That makes the step counter the whole random state of a run, so resuming from a checkpoint at
step k continues exactly as the uninterrupted run would.
"""

from __future__ import annotations

import torch

_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 63) - 1


def step_seed(seed: int, step: int, stream: int = 0) -> int:
    """A well-mixed 63-bit seed for one (seed, step, stream) triple (splitmix64)."""
    z = (seed * _GOLDEN + step * 0xBF58476D1CE4E5B9 + stream * 0x94D049BB133111EB) & (2**64 - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    return (z ^ (z >> 31)) & _MASK


def seed_step(seed: int, step: int) -> torch.Generator:
    """Seed torch's global RNG (dropout, init) for this step and return a data generator."""
    torch.manual_seed(step_seed(seed, step, 0))
    return torch.Generator().manual_seed(step_seed(seed, step, 1))

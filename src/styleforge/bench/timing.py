"""Timing a call the way every figure in the bench is timed: warm-up, then the median."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

MIN_RUNS = 3


@dataclass
class Timing:
    median_s: float
    runs: int


def time_call(
    fn: Callable[[], object], repeats: int, max_seconds: float, warmup: int = 1
) -> Timing:
    """Median wall time of `fn` over up to `repeats` runs after `warmup` untimed ones.

    Stops early once `max_seconds` have been spent on at least MIN_RUNS runs (or `repeats`,
    if fewer), so slow cases (ResNet-9 at 1024^2) keep the whole bench within minutes."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < repeats:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= min(MIN_RUNS, repeats) and time.perf_counter() - started > max_seconds:
            break
    return Timing(statistics.median(times), len(times))

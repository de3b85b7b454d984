"""Choosing the compute device and thread count, in one place for training and inference."""

from __future__ import annotations

import os

import torch

from styleforge.errors import StyleforgeError


def pick_device(name: str = "auto") -> torch.device:
    """`auto` is CUDA when present, else the CPU; asking for CUDA without one is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise StyleforgeError(f"--device {name} asked for, but no CUDA device is available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise StyleforgeError(f"unknown device {name!r}") from None


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def set_threads(threads: int = 0) -> int:
    """Use `threads` CPU threads (0: one per core available to this process)."""
    if threads <= 0:
        threads = available_cores()
    torch.set_num_threads(threads)
    return threads

"""Choosing the compute device and thread count, in one place for every command.

Torch is imported inside the functions: the config and the command line read the device names
and help from here, and `styleforge --help` must not wait for torch.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from styleforge.errors import StyleforgeError

if TYPE_CHECKING:
    import torch

DEVICE_HELP = "auto (CUDA, else Apple's MPS, else the CPU), cpu, cuda, cuda:N or mps"
_NAME = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def check_device_name(name: str) -> str:
    """`name` if it is one of DEVICE_HELP's names, else StyleforgeError (before any work)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise StyleforgeError(f"--device must be auto, cpu, cuda, cuda:N or mps, got {name!r}")
    return name


def pick_device(name: str | torch.device = "auto") -> torch.device:
    """The device `name` asks for; `auto` takes CUDA, then MPS, then the CPU.

    A device that is asked for by name and is not there is a StyleforgeError, so every command
    says so in one line instead of failing inside torch."""
    import torch

    name = check_device_name(str(name))
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not cuda:
            raise StyleforgeError(f"--device {name} asked for, but no CUDA device is available")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise StyleforgeError(f"--device {name} asked for, but {count} CUDA device(s) visible")
    if device.type == "mps" and not mps:
        raise StyleforgeError(f"--device {name} asked for, but Apple's MPS is not available")
    return device


def describe(device: torch.device) -> str:
    """The device as benchmark reports name it: `cuda:0 (NVIDIA H100 ...)`, `mps`, `cpu`."""
    import torch

    if device.type == "cuda":
        index = torch.cuda.current_device() if device.index is None else device.index
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(device)


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def set_threads(threads: int = 0) -> int:
    """Use `threads` CPU threads (0: one per core available to this process)."""
    import torch

    if threads <= 0:
        threads = available_cores()
    torch.set_num_threads(threads)
    return threads

"""CPU fast paths for inference: precision, memory layout, compilation, in one place.

Speed on a CPU comes first from fewer MACs (the `lite` preset), then from these switches; each
is measured by `styleforge bench`. bf16 autocast only helps where the CPU computes in bf16
natively (AVX-512 BF16 or AMX); elsewhere it is emulated and slower, so `auto` checks first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from styleforge.errors import StyleforgeError

PRECISIONS = ("fp32", "bf16", "auto")


def cpu_has_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """`auto` becomes bf16 on CUDA or on a CPU with native bf16, else fp32 (MPS included)."""
    if precision not in PRECISIONS:
        raise StyleforgeError(f"--precision must be one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        native = device.type == "cuda" or (device.type == "cpu" and cpu_has_bf16())
        return "bf16" if native else "fp32"
    return precision


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast for `bf16`; nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare(
    module: nn.Module, channels_last: bool = False, compile: bool = False
) -> Callable[..., Any]:
    """The module's forward, in channels-last layout and/or compiled when asked.

    Compilation happens lazily on the first call (tens of seconds on a laptop CPU, then cached
    per input shape): worth it for video or folders of equal-size images, not for one photo."""
    if channels_last:
        module.to(memory_format=torch.channels_last)
    if compile:
        return torch.compile(module, dynamic=False)
    return module


def to_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """Inputs must share the weights' layout, or the first convolution converts every call."""
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x

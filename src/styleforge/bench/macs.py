"""Real multiply-accumulates of a network, counted by PyTorch's `FlopCounterMode`.

Counted on PyTorch's meta device: shapes flow, nothing is computed, so a 1024^2 ResNet-9 costs
nothing to count. FlopCounterMode counts the FLOPs of every convolution and matrix product
(2 per multiply-accumulate); normalisation, activations, pooling and resizing are not counted
(as is usual). It counts what forward hooks on Conv2d and Linear layers miss: a matrix product
outside a Linear (the per-region colour transforms of `--local-affine` are a `bmm`: 0.59 M of
2.27 G MACs at 256^2) and transposed convolutions; tests/test_macs.py checks that the two
counts differ by exactly those.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from styleforge.config import ModelConfig
from styleforge.models.stylenet import StyleNet


def count_macs(module: nn.Module, *inputs: torch.Tensor) -> int:
    """MACs of one forward pass of `module` on `inputs` (all on the same device, meta is best)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(*inputs)
    return counter.get_total_flops() // 2


def generator_macs(config: ModelConfig, height: int, width: int) -> int:
    """MACs of the generator on one (3, height, width) image, style modulation included."""
    with torch.device("meta"):
        net = StyleNet(config)
        image = torch.empty(1, 3, height, width)
        code = torch.empty(1, config.code_dim)
    return count_macs(net.generator, image, code)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())

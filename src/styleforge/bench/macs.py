"""Real multiply-accumulates of a network, counted by hooks on its convolutions and linears.

Counted on PyTorch's meta device: shapes flow, nothing is computed, so a 1024^2 ResNet-9 costs
nothing to count. Normalisation, activations and resizing are not counted (as is usual).
"""

from __future__ import annotations

import torch
from torch import nn

from styleforge.config import ModelConfig
from styleforge.models.stylenet import StyleNet


def count_macs(module: nn.Module, *inputs: torch.Tensor) -> int:
    """MACs of one forward pass of `module` on `inputs` (all on the same device, meta is best)."""
    total = 0

    def hook(layer: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        nonlocal total
        weight = layer.weight
        per_output = weight[0].numel() if isinstance(layer, nn.Conv2d) else weight.shape[1]
        total += output.numel() * per_output

    layers = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return total


def generator_macs(config: ModelConfig, height: int, width: int) -> int:
    """MACs of the generator on one (3, height, width) image, style modulation included."""
    with torch.device("meta"):
        net = StyleNet(config)
        image = torch.empty(1, 3, height, width)
        code = torch.empty(1, config.code_dim)
    return count_macs(net.generator, image, code)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())

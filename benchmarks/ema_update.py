"""One EMA update of the `lite` network: a Python loop of `lerp_` against `torch._foreach_lerp_`.

    .venv/bin/python benchmarks/ema_update.py [--repeats 400] [--threads 2]

Both updates run in the same process on the same StyleNet (the default TrainConfig), one
after the other in alternation, so a busy machine slows both alike; prints the median of each
and checks that they give the same weights (docs/performance.md).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from torch import nn

from styleforge.config import TrainConfig
from styleforge.models.stylenet import StyleNet
from styleforge.training.ema import EMA


@torch.no_grad()
def loop_update(avg_model: nn.Module, model: nn.Module, decay: float) -> None:
    """The update as it was written before `_foreach_lerp_`: one `lerp_` call per tensor."""
    for avg, new in zip(avg_model.parameters(), model.parameters(), strict=True):
        avg.lerp_(new.detach(), 1 - decay)
    for avg, new in zip(avg_model.buffers(), model.buffers(), strict=True):
        avg.copy_(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = StyleNet(TrainConfig().model)
    ema = EMA(net)
    looped = copy.deepcopy(ema.model)
    params = sum(p.numel() for p in net.parameters())
    times: dict[str, list[float]] = {"loop of lerp_": [], "_foreach_lerp_": []}
    for step in range(args.repeats):
        with torch.no_grad():
            for p in net.parameters():  # new weights each step, as training gives
                p.add_(torch.randn_like(p), alpha=1e-3)
        for name in times if step % 2 else reversed(times):  # alternate which runs first
            started = time.perf_counter()
            if name == "_foreach_lerp_":
                ema.update(net, step)
            else:
                loop_update(looped, net, ema.decay(step))
            times[name].append(time.perf_counter() - started)
    diff = max(
        (a - b).abs().max().item()
        for a, b in zip(ema.model.state_dict().values(), looped.state_dict().values(), strict=True)
        if a.is_floating_point()
    )
    print(f"StyleNet (lite, default config): {params / 1e6:.2f} M parameters", end=", ")
    print(f"{args.repeats} updates, {args.threads} threads")
    for name, values in times.items():
        print(f"{name:16s} median {statistics.median(values) * 1e3:.3f} ms")
    print(f"largest difference between the two averages: {diff:.3g}")


if __name__ == "__main__":
    main()

"""Where a training step's time goes: torch.profiler over a few steps of a recipe.

    .venv/bin/python benchmarks/profile_step.py                 # the default recipe
    .venv/bin/python benchmarks/profile_step.py --content-loss nce --lambda-feat 0

Same data and sizes as `styleforge bench --train` (batch 4, 128-pixel crops, the CPU's
threads); prints the median step time and the operators that take most of it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from styleforge.bench.training import bench_data
from styleforge.config import TrainConfig
from styleforge.training.trainer import Trainer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content-loss", default=None)
    parser.add_argument("--lambda-feat", type=float, default=None)
    parser.add_argument("--no-disc-features", action="store_true")
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    config = TrainConfig(batch_size=4)
    config.data.crop_size, config.data.load_size = 128, 144
    o = config.optim
    o.content_loss = args.content_loss or o.content_loss
    o.lambda_feat = o.lambda_feat if args.lambda_feat is None else args.lambda_feat
    config.model.disc_features = not args.no_disc_features
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, Path(tmp), data=bench_data(144))
        times = []

        def step() -> None:
            start = time.perf_counter()
            trainer.one_step()
            times.append(time.perf_counter() - start)

        step()  # warm-up
        times.clear()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(args.steps):
                step()
    print(f"threads {torch.get_num_threads()}: median step {statistics.median(times):.3f} s")
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=20))
    return 0


if __name__ == "__main__":
    sys.exit(main())

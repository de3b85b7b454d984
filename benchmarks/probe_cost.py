"""What the training-time style probe costs beside the training steps of the same run.

    .venv/bin/python benchmarks/probe_cost.py [--threads 1] [--steps 12]

Trains the default recipe (`lite`, the default TrainConfig) on the demo data for a few steps
and, in the same process, times the probe's fit (`training.probe.TrainingProbe`) on the demo
data, on 32 photos against 32 style images (over the fit's bound) and on two styles, and one
probe evaluation of the sample grid's outputs. Prints the share of a 10-minute run they take
at the default `--sample-every` and the measured step time (docs/training.md).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from styleforge.config import TrainConfig
from styleforge.data.datasets import ImageSet, TrainingData
from styleforge.data.demo import build_demo_data
from styleforge.training.probe import TrainingProbe
from styleforge.training.trainer import Trainer

RUN_SECONDS = 600


def variants(data: TrainingData) -> dict[str, TrainingData]:
    """The demo data, and larger or multi-style data made of its images repeated."""
    photos = ImageSet("content", [], (data.content.images * 5)[:32])
    style = (data.styles[0].images * 8)[:32]
    return {
        f"demo ({len(data.content)} photos, {len(data.styles[0])} style images)": data,
        "32 photos, 32 style images": TrainingData(
            photos, [ImageSet("style", [], style)], data.test, data.report
        ),
        "32 photos, 2 styles of 16": TrainingData(
            photos,
            [ImageSet("a", [], style[:16]), ImageSet("b", [], style[16:])],
            data.test,
            data.report,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp())
    demo = build_demo_data(root)
    config = TrainConfig(threads=args.threads)
    config.data.content, config.data.style = str(demo.content), str(demo.style)
    trainer = Trainer(config, root / "run")
    cases = variants(trainer.data)
    steps: list[float] = []
    fits: dict[str, list[float]] = {name: [] for name in cases}
    evals: dict[str, list[float]] = {name: [] for name in cases}
    for step in range(args.steps):  # probe work between steps: both see the same machine
        started = time.perf_counter()
        trainer.one_step()
        steps.append(time.perf_counter() - started)
        if step % 4 != 1:
            continue
        for name, data in cases.items():
            probe = TrainingProbe(data, trainer.device)
            fits[name].append(probe.fit_seconds)
            net, inputs = trainer.nets.ema.model, trainer.sample_inputs
            with torch.no_grad():  # the demo's one style: its outputs stand in for every style
                output = net(inputs, net.style_codes(torch.zeros(len(inputs), dtype=torch.long)))
            started = time.perf_counter()
            probe.shares([output] * len(data.styles))
            evals[name].append(time.perf_counter() - started)
    step_time = statistics.median(steps[2:])
    count = RUN_SECONDS / step_time / config.sample_every + 1  # and the end's grid
    print(f"{args.threads} threads; step {step_time:.3f} s ({1 / step_time:.2f} it/s):")
    print(f"{count:.1f} probe evaluations in a {RUN_SECONDS / 60:.0f}-minute run")
    for name in cases:
        fit, each = statistics.median(fits[name]), statistics.median(evals[name])
        total = fit + count * each
        print(
            f"{name}: fit {fit:.2f} s, evaluation {each:.3f} s; "
            f"{total:.1f} s = {100 * total / RUN_SECONDS:.2f} % of the run"
        )


if __name__ == "__main__":
    main()

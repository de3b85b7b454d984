"""Training benchmark: iterations/s and peak RSS of one full training step per preset and loss.

A step is what `styleforge train` runs: discriminator update, generator update (GAN, content,
style and diversity terms), on in-memory crops of real photos and their procedural cartoons,
on the device asked for (a step ends by reading its losses, which waits for a GPU to finish).
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from styleforge.bench.macs import count_params
from styleforge.bench.memory import peak_rss_mib, reset_peak
from styleforge.bench.timing import time_call
from styleforge.config import TrainConfig, apply_preset
from styleforge.data.augment import pil_to_uint8, resize_shorter
from styleforge.data.datasets import ImageSet, TrainingData
from styleforge.data.images import LoadReport
from styleforge.data.procedural import cartoon
from styleforge.training.trainer import Trainer

CONTENT = ("astronaut", "coffee", "chelsea", "rocket")
STYLE = ("camera", "motorcycle_left", "hubble", "coins")


@dataclass
class TrainRow:
    preset: str
    content_loss: str
    batch_size: int
    crop_size: int
    params_m: float  # every network the step optimises (G, D, mapping, encoder, back nets)
    iterations_per_s: float
    median_ms: float
    peak_rss_mib: float
    runs: int

    def as_dict(self) -> dict:
        return asdict(self)


def bench_data(load_size: int) -> TrainingData:
    """Real photos as content, procedural cartoons of other photos as the style set."""
    from styleforge.data.demo import PHOTOS

    def images(names: tuple[str, ...], style: bool) -> list:
        out = []
        for name in names:
            rgb = PHOTOS[name]()
            rgb = np.stack([rgb] * 3, -1) if rgb.ndim == 2 else rgb[..., :3]
            img = resize_shorter(Image.fromarray(rgb), load_size)
            out.append(pil_to_uint8(Image.fromarray(cartoon(np.asarray(img))) if style else img))
        return out

    return TrainingData(
        content=ImageSet("content", images=images(CONTENT, False)),
        styles=[ImageSet("style", images=images(STYLE, True))],
        test=ImageSet("test"),
        report=LoadReport(),
    )


def run_train_bench(
    presets: list[str],
    content_losses: list[str],
    *,
    crop_size: int = 128,
    batch_size: int = 4,
    repeats: int = 10,
    max_seconds: float = 10.0,
    threads: int = 1,
    device: str = "cpu",
) -> list[TrainRow]:
    """One row per preset x content loss: steps of the full training step on `device`."""
    data = bench_data(crop_size + crop_size // 8)
    rows = []
    for preset in presets:
        for loss in content_losses:
            config = TrainConfig(batch_size=batch_size, threads=threads, device=device)
            apply_preset(config.model, preset)
            config.optim.content_loss = loss
            config.data.crop_size, config.data.load_size = crop_size, crop_size + crop_size // 8
            with tempfile.TemporaryDirectory() as tmp:
                trainer = Trainer(config, Path(tmp), data=data)
                params = sum(count_params(m) for m in trainer.nets.modules().values())

                reset_peak()
                timing = time_call(trainer.one_step, repeats, max_seconds)
                peak = peak_rss_mib()
            rows.append(
                TrainRow(
                    preset,
                    loss,
                    batch_size,
                    crop_size,
                    params / 1e6,
                    1.0 / timing.median_s,
                    timing.median_s * 1e3,
                    round(peak, 1),
                    timing.runs,
                )
            )
    return rows

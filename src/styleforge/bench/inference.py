"""Inference benchmark: presets x sizes x backends, with the ResNet-9 fp32 ratio per size.

Networks are randomly initialised (speed does not depend on the weights); the input is a real
photo. Every case goes through the same `stylize_tensor` a user's call does (padding included,
and the copy of the result back to the CPU, which waits for a GPU to finish), on the device
asked for; the onnx backend is onnxruntime on the CPU, so it is timed only there.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from styleforge.bench.macs import count_params, generator_macs
from styleforge.bench.memory import peak_rss_mib, reset_peak
from styleforge.bench.timing import time_call
from styleforge.config import ModelConfig, TrainConfig, apply_preset
from styleforge.data.augment import pil_to_unit
from styleforge.errors import StyleforgeError
from styleforge.inference.backend import BaseStylizer
from styleforge.inference.fastpath import resolve_precision
from styleforge.inference.stylizer import Stylizer
from styleforge.models.stylenet import StyleNet

log = logging.getLogger(__name__)

BACKENDS = ("fp32", "bf16", "onnx", "compile")
REFERENCE = ("resnet9", "fp32")  # every size is also timed with this, in the same run


@dataclass
class InferenceRow:
    preset: str
    size: int
    backend: str
    gmacs: float
    params_m: float
    median_ms: float
    images_per_s: float
    peak_rss_mib: float
    runs: int
    vs_resnet9_fp32: float | None = None  # reference latency / this latency: > 1 is faster

    def as_dict(self) -> dict:
        return asdict(self)


def photo(width: int, height: int | None = None) -> torch.Tensor:
    """A real photo (scikit-image's astronaut) resized to width x height (default square), as
    (1, 3, H, W) in [-1, 1]."""
    import skimage.data

    size = (width, height or width)
    img = Image.fromarray(skimage.data.astronaut()).resize(size, Image.BICUBIC)
    return pil_to_unit(img)[None] * 2 - 1


def preset_config(preset: str) -> TrainConfig:
    config = TrainConfig()
    apply_preset(config.model, preset)
    return config


@contextmanager
def backend_stylizer(
    preset: str, backend: str, workdir: Path, threads: int, device: torch.device
) -> Iterator[BaseStylizer]:
    """A stylizer of `preset` running on `backend` on `device` (ONNX: exported once per preset,
    run on the CPU)."""
    config = preset_config(preset)
    torch.manual_seed(0)
    net = StyleNet(config.model)
    if backend == "onnx":
        from styleforge.inference.export import export_onnx
        from styleforge.inference.onnx_backend import OnnxStylizer

        path = workdir / f"{preset}.onnx"
        if not path.exists():
            export_onnx(Stylizer(net, config, torch.device("cpu")), path, seeds=1)
        yield OnnxStylizer.load(path, threads=threads)
        return
    precision = "bf16" if backend == "bf16" else "fp32"
    yield Stylizer(net, config, device, precision, compile=backend == "compile")


def run_inference_bench(
    presets: list[str],
    sizes: list[int],
    backends: list[str],
    *,
    repeats: int = 10,
    max_seconds: float = 10.0,
    threads: int = 1,
    device: torch.device | None = None,
) -> list[InferenceRow]:
    """Every preset x size x backend on `device` (default the CPU), plus the ResNet-9 fp32
    reference at each size."""
    device = device or torch.device("cpu")
    backends = usable_backends(backends, device)
    rows: list[InferenceRow] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            x = photo(size)
            cases = [REFERENCE] + [(p, b) for p in presets for b in backends if (p, b) != REFERENCE]
            for preset, backend in cases:
                rows.append(
                    _one(preset, backend, size, x, Path(tmp), repeats, max_seconds, threads, device)
                )
                log.debug("%s", rows[-1])
            reference = rows[-len(cases)].median_ms
            for row in rows[-len(cases) :]:
                row.vs_resnet9_fp32 = reference / row.median_ms
            if REFERENCE[0] not in presets or REFERENCE[1] not in backends:
                rows.pop(-len(cases))  # measured for the ratio only
    return rows


def usable_backends(backends: list[str], device: torch.device) -> list[str]:
    """`backends` less those `device` cannot run (each left out with a warning); an unknown
    name is an error."""
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise StyleforgeError(f"unknown backend {unknown[0]!r}; choose from {', '.join(BACKENDS)}")
    if "bf16" in backends and resolve_precision("auto", device) != "bf16":
        log.warning("no native bf16 on %s: the bf16 backend is left out", device)
        backends = [b for b in backends if b != "bf16"]
    if "onnx" in backends and device.type != "cpu":
        log.warning("the onnx backend runs on the CPU: left out on %s", device)
        backends = [b for b in backends if b != "onnx"]
    return backends


def _one(
    preset: str,
    backend: str,
    size: int,
    x: torch.Tensor,
    workdir: Path,
    repeats: int,
    max_seconds: float,
    threads: int,
    device: torch.device,
) -> InferenceRow:
    model: ModelConfig = preset_config(preset).model
    with backend_stylizer(preset, backend, workdir, threads, device) as stylizer:
        code = stylizer.style_code()
        reset_peak()
        timing = time_call(lambda: stylizer.stylize_tensor(x, code), repeats, max_seconds)
        peak = peak_rss_mib()
        params = count_params(StyleNet(model).generator)
    return InferenceRow(
        preset=preset,
        size=size,
        backend=backend,
        gmacs=generator_macs(model, size, size) / 1e9,
        params_m=params / 1e6,
        median_ms=timing.median_s * 1e3,
        images_per_s=1.0 / timing.median_s,
        peak_rss_mib=float(np.round(peak, 1)),
        runs=timing.runs,
    )

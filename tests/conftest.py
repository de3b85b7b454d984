"""Shared fixtures and helpers: small real photos (scikit-image's), a tiny, fast training config
and the small models and runs that several test files use."""

from __future__ import annotations

import errno
import io
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from styleforge import atomic
from styleforge.cli import main
from styleforge.config import ModelConfig, TrainConfig, apply_preset
from styleforge.data.procedural import cartoon
from styleforge.inference.stylizer import Stylizer
from styleforge.modelfile import save_model
from styleforge.models.pretrained import EfficientNetLite0
from styleforge.models.stylenet import StyleNet
from styleforge.training.trainer import Trainer

PHOTO_NAMES = ("astronaut", "chelsea", "coffee", "rocket")


def real_photo(name: str, size: int = 96) -> Image.Image:
    """A scikit-image photo, shorter side `size`."""
    img = Image.fromarray(getattr(skimage.data, name)())
    scale = size / min(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)), Image.BICUBIC)


def posterise(img: Image.Image) -> Image.Image:
    """A cheap real 'style': few colour levels (what the style folder holds in tests)."""
    arr = np.asarray(img)
    return Image.fromarray(((arr // 64) * 64 + 32).astype(np.uint8))


@pytest.fixture
def photo_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """content/ with real photos and style/ with posterised other photos."""
    content, style = tmp_path / "content", tmp_path / "style"
    content.mkdir()
    style.mkdir()
    for name in PHOTO_NAMES[:2]:
        real_photo(name).save(content / f"{name}.png")
    for name in PHOTO_NAMES[2:]:
        posterise(real_photo(name)).save(style / f"{name}.jpg")
    return content, style


def tiny_config(content: Path | None = None, style: Path | None = None, **top) -> TrainConfig:
    """A config small enough to train a step in well under a second on a CPU."""
    config = TrainConfig(steps=top.pop("steps", 4), batch_size=2, seed=top.pop("seed", 0))
    m, d, o = config.model, config.data, config.optim
    m.preset, m.ngf, m.n_down, m.n_blocks, m.ndf, m.d_layers = "custom", 8, 2, 2, 8, 2
    m.latent_dim, m.style_dim = 4, 8
    d.content, d.style = (str(content) if content else None), (str(style) if style else None)
    d.load_size, d.crop_size = 40, 32
    o.nce_patches = 32
    # everything else is the default recipe (statistics-transfer start, texture gain, split
    # pixel discriminator with feature heads, structure term, no content loss): the unit tests
    # exercise the path users train with; a test of another part sets it itself
    config.log_every, config.sample_every, config.save_every = 2, 1000, 1000
    config.style_probe = False  # a second or so per run; its own tests turn it on
    config.threads = 1
    for key, value in top.items():
        setattr(config, key, value)
    return config


def with_statistics_transfer(config: TrainConfig) -> StyleNet:
    """A net with the default statistics transfer set to curves far from the identity (texture
    halved for the first style, doubled for the others; colour curves bent at random), so the
    inference paths are tested with it doing something), and the output filter on for the first
    style only. Seed torch first."""
    config.model.stats_transfer = True
    net = StyleNet(config.model)
    statistics = net.generator.statistics
    statistics.energy_in.copy_(torch.linspace(0.005, 0.3, len(statistics.energy_in)))
    statistics.colour_in.copy_(torch.linspace(-0.9, 0.9, statistics.colour_in.shape[1]))
    table = torch.randn_like(net.mapping.offsets.table) * 0.1
    energy = len(statistics.energy_in)
    table[:, :energy] = statistics.energy_in  # gain 2 ...
    table[0, :energy] = -0.5 * statistics.energy_in  # ... and 0.5 for the first style
    net.mapping.offsets.table.copy_(table)
    net.encoder.offsets.table.copy_(table)
    first = torch.zeros(config.model.num_styles, 1)
    first[0] = 1.0
    net.mapping.offsets.output_filter.copy_(first)
    net.encoder.offsets.output_filter.copy_(first)
    return net


def untrained_stylizer(seed: int, **options) -> Stylizer:
    """A tiny untrained model whose style modulation is far from the identity, so its outputs
    differ visibly from its inputs (for tests of the inference paths, not of quality)."""
    config = tiny_config()
    torch.manual_seed(seed)
    net = with_statistics_transfer(config)
    for block in net.generator.blocks:
        for norm in (block.norm1, block.norm2):
            torch.nn.init.normal_(norm.affine.weight, std=0.5)
    return Stylizer(net, config, torch.device("cpu"), **options)


TINY_CLI = [
    "--ngf",
    "8",
    "--n-blocks",
    "2",
    "--ndf",
    "8",
    "--d-layers",
    "2",
    "--latent-dim",
    "4",
    "--style-dim",
    "8",
    "--load-size",
    "40",
    "--crop-size",
    "32",
    "--batch-size",
    "2",
    "--threads",
    "1",
    "--log-every",
    "2",
    "--no-style-probe",
]


class TerminalStream(io.StringIO):
    """A stream that says it is a terminal, so tqdm draws its bars into it."""

    def isatty(self) -> bool:
        return True


@contextmanager
def console() -> Iterator[io.StringIO]:
    """stderr as a terminal with the CLI's log handler on it (`logging.basicConfig`'s): tqdm
    draws its bars there (never on a pipe) and log lines land there too, to be read. Entered
    in the test itself, not a fixture: pytest sets a new stderr for every phase of a test."""
    stream, saved = TerminalStream(), sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    sys.stderr = stream
    logging.root.addHandler(handler)
    try:
        yield stream
    finally:
        logging.root.removeHandler(handler)
        sys.stderr = saved


def shown_lines(text: str) -> list[str]:
    """What a terminal shows of each line written: the text after its last carriage return."""
    return [line.split("\r")[-1] for line in text.split("\n")]


def temp_files(folder: Path) -> list[str]:
    """Names of the temp files an atomic write leaves behind in `folder` (none, if it works)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def fail_os_call(monkeypatch: pytest.MonkeyPatch, where: str, code: int = errno.ENOSPC) -> None:
    """Make the atomic writer's `os.<where>` fail with `code` (replace: the rename; fsync: the
    data write): a disk full or a read-only folder, on demand."""

    def broken(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, where, broken)


def preset(name: str, **overrides) -> ModelConfig:
    """A preset's ModelConfig with some fields changed: the networks' tests build from it."""
    cfg = ModelConfig()
    apply_preset(cfg, name)
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    """A saved tiny model with styles "ink" and "paint" (test_stylizer's and test_files')."""
    config = tiny_config()
    config.model.styles = ["ink", "paint"]
    torch.manual_seed(1)
    net = StyleNet(config.model)
    # make the style modulation non-trivial so styles and seeds change the output, and move
    # the head and the texture gain off zero (the skip path starts as the identity)
    for block in net.generator.blocks:
        for norm in (block.norm1, block.norm2):
            torch.nn.init.normal_(norm.affine.weight, std=0.5)
    torch.nn.init.normal_(net.generator.head.weight, std=0.05)
    torch.nn.init.normal_(net.generator.detail.out.weight, std=0.05)
    path = tmp_path / "model.safetensors"
    save_model(path, net, config, {"step": 0})
    return path


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    """A tiny two-style model with every part the ONNX export must handle (the export's and
    the ONNX backend's tests)."""
    config = tiny_config()
    config.model.styles = ["ink", "paint"]
    config.model.skip = True  # the skip path (atanh) must export too
    config.model.local_affine = 8  # and the per-region transforms
    config.model.detail_radius = 2  # and the texture gain
    torch.manual_seed(2)
    net = with_statistics_transfer(config)  # and the statistics transfer
    for block in net.generator.blocks:
        for norm in (block.norm1, block.norm2):
            torch.nn.init.normal_(norm.affine.weight, std=0.5)
    torch.nn.init.normal_(net.generator.head.weight, std=0.05)
    torch.nn.init.normal_(net.generator.local_affine.out.weight, std=0.05)
    torch.nn.init.normal_(net.generator.detail.out.weight, std=0.05)
    return Stylizer(net, config, torch.device("cpu"))


@pytest.fixture(scope="module")
def enl0() -> EfficientNetLite0:
    """The EfficientNet-Lite0 feature network (the distances' and content scores' tests)."""
    torch.set_num_threads(1)
    return EfficientNetLite0()


@pytest.fixture(scope="session")
def eval_task(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two briefly trained tiny models, test photos, their cartoon truth and a style set."""
    root = tmp_path_factory.mktemp("eval")
    content, style, test, truth, styles = (
        root / name for name in ("content", "style", "test", "truth", "styles")
    )
    for folder in (content, style, test, truth, styles):
        folder.mkdir()
    for name in ("astronaut", "chelsea"):
        real_photo(name).save(content / f"{name}.png")
    for name in ("coffee", "rocket"):
        posterise(real_photo(name)).save(style / f"{name}.png")
    models = []
    for seed in (0, 1):
        Trainer(tiny_config(content, style, steps=3, seed=seed), root / f"run{seed}").run()
        models.append(root / f"run{seed}" / "model.safetensors")
    for name in ("coffee", "rocket"):
        img = real_photo(name, 72)
        img.save(test / f"{name}.png")
        Image.fromarray(cartoon(np.asarray(img))).save(truth / f"{name}.jpg")
    for name in ("astronaut", "chelsea", "camera"):
        img = np.asarray(real_photo(name, 72).convert("RGB"))
        Image.fromarray(cartoon(img)).save(styles / f"{name}.png")
    return {"models": models, "test": test, "truth": truth, "styles": styles, "root": root}


def _evaluate_argv(task: dict[str, Path], out: Path) -> list[str]:
    return [
        "evaluate", *map(str, task["models"]), "--content", str(task["test"]),
        "--reference", str(task["truth"]), "--style", str(task["styles"]), "-o", str(out),
    ]  # fmt: skip


@pytest.fixture(scope="session")
def evaluated(eval_task: dict[str, Path]) -> Path:
    """`evaluate` run once on `eval_task` for the evaluate and report tests (per session: the
    models train once)."""
    out = eval_task["root"] / "eval"
    assert main(_evaluate_argv(eval_task, out)) == 0
    return out

"""The training loop end to end: exact resume, every loss option, data layouts, the run folder,
Ctrl-C."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from conftest import TINY_CLI, posterise, real_photo, tiny_config
from styleforge.data.datasets import TrainingData
from styleforge.errors import StyleforgeError
from styleforge.inference.stylizer import Stylizer
from styleforge.training.trainer import Trainer, resume_trainer


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return Stylizer.load(path).net.state_dict()


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "styleforge", *args],
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


@pytest.mark.slow
def test_resume_is_exact(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    # bit-exact on the CPU; CUDA's fastest kernels (cuDNN, bf16 atomics) are not deterministic
    config = tiny_config(content, style, steps=30, device="cpu")
    config.model.dropout = 0.1  # dropout draws from the global RNG: resume must restore it too
    full = Trainer(config, tmp_path / "full").run()
    assert full.steps == 30

    config_half = tiny_config(content, style, steps=30, device="cpu")
    config_half.model.dropout = 0.1
    half = Trainer(config_half, tmp_path / "half")
    assert half.run(stop_at=15).steps == 15
    resumed = resume_trainer(tmp_path / "half")
    assert resumed.step == 15
    assert resumed.run().steps == 30

    a, b = _weights(full.model_path), _weights(tmp_path / "half" / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    rows = [json.loads(x) for x in (tmp_path / "half" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(2, 31, 2))


def test_runs_differ_with_seed(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    a = Trainer(tiny_config(content, style, steps=3, seed=1), tmp_path / "a").run()
    b = Trainer(tiny_config(content, style, steps=3, seed=2), tmp_path / "b").run()
    wa, wb = _weights(a.model_path), _weights(b.model_path)
    assert any(not torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize(
    ("gan_loss", "content_loss", "norm"),
    [
        ("bce", "nce", "instance"),
        ("lsgan", "cycle", "batch"),
        ("hinge", "identity", "none"),
        ("bce", "none", "instance"),
    ],
)
def test_loss_options_train(tmp_path: Path, photo_dirs, gan_loss, content_loss, norm) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style, steps=4)
    config.optim.gan_loss, config.optim.content_loss, config.model.norm = (
        gan_loss,
        content_loss,
        norm,
    )
    config.optim.r1_gamma = 1.0
    config.model.spectral_norm = norm == "none"
    trainer = Trainer(config, tmp_path / "run")
    before = {k: v.clone() for k, v in trainer.nets.net.state_dict().items()}
    result = trainer.run()
    assert result.steps == 4
    after = trainer.nets.net.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert "loss/r1" in rows[-1] and all(torch.isfinite(torch.tensor(v)) for v in rows[-1].values())
    if content_loss == "cycle":
        assert "loss/cycle" in rows[-1] and "loss/d_back" in rows[-1]
    Stylizer.load(result.model_path)


def test_local_transforms_train_and_ship(tmp_path: Path, photo_dirs) -> None:
    """The per-region transforms and texture gain get the adversarial gradient and land in the
    model file."""
    content, style = photo_dirs
    config = tiny_config(content, style, steps=6)
    config.model.skip, config.model.local_affine, config.model.detail_radius = True, 8, 2
    result = Trainer(config, tmp_path / "run").run()
    net = Stylizer.load(result.model_path).net
    for part in (net.generator.local_affine, net.generator.detail):
        assert float(part.out.weight.detach().abs().max()) > 0  # moved from 0


def test_run_folder_contents(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style, steps=4)
    config.sample_every = 2
    run = tmp_path / "run"
    Trainer(config, run).run()
    for name in ("model.safetensors", "train_state.safetensors", "metrics.jsonl", "losses.png"):
        assert (run / name).exists(), name
    assert (run / "samples" / "step_000002.png").exists()
    assert any((run / "tensorboard").iterdir())
    assert not list(run.glob(".*.tmp"))


def test_cyclegan_layout_trains(tmp_path: Path) -> None:
    root = tmp_path / "h2z"
    for sub, names, style in [
        ("trainA", ["astronaut", "rocket"], False),
        ("trainB", ["coffee", "chelsea"], True),
        ("testA", ["coffee"], False),
    ]:
        (root / sub).mkdir(parents=True)
        for name in names:
            img = real_photo(name)
            (posterise(img) if style else img).save(root / sub / f"{name}.jpg")
    config = tiny_config(steps=3)
    config.data.data = str(root)
    data = TrainingData.load(config.data)
    assert len(data.content) == 2 and len(data.styles[0]) == 2 and len(data.test) == 1
    result = Trainer(config, tmp_path / "run", data).run()
    assert result.steps == 3 and result.model_path.exists()


def test_style_subfolders_are_styles(tmp_path: Path, photo_dirs) -> None:
    content, _ = photo_dirs
    styles = tmp_path / "styles"
    for name, photo in [("ink", "coffee"), ("paint", "rocket")]:
        (styles / name).mkdir(parents=True)
        posterise(real_photo(photo)).save(styles / name / "x.png")
    config = tiny_config(content, styles, steps=2)
    result = Trainer(config, tmp_path / "run").run()
    assert Stylizer.load(result.model_path).styles == ["ink", "paint"]


def test_empty_folder_is_an_error(tmp_path: Path, photo_dirs) -> None:
    _, style = photo_dirs
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "bad.png").write_text("not an image")
    with pytest.raises(StyleforgeError, match="no usable content image"):
        Trainer(tiny_config(empty, style), tmp_path / "run")


@pytest.mark.slow
def test_cli_train_and_resume(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    run = tmp_path / "run"
    train = ["train", "--content", str(content), "--style", str(style), "--out", str(run)]
    proc = _cli(*train, "--steps", "3", *TINY_CLI)
    assert proc.returncode == 0, proc.stderr
    assert (run / "config.yaml").exists()
    again = _cli(*train, "--steps", "3", *TINY_CLI)
    assert again.returncode == 1 and "--resume" in again.stderr
    more = _cli("train", "--resume", str(run), "--steps", "5")
    assert more.returncode == 0, more.stderr
    assert "5 steps" in more.stdout


@pytest.mark.slow
def test_ctrl_c_saves_and_exits_zero(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "styleforge",
            "train",
            "--content",
            str(content),
            "--style",
            str(style),
            "--out",
            str(run),
            "--steps",
            "100000",
            *TINY_CLI,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job (`make test &`) ignores SIGINT, and a child inherits that:
        # give the trainer the default disposition, as a terminal's Ctrl-C finds it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while not (run / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "interrupted" in out
    assert Stylizer.load(run / "model.safetensors") is not None
    assert resume_trainer(run).step > 0
    assert not [p for p in os.listdir(run) if p.endswith(".tmp")]


def test_flat_colour_images_are_skipped_not_trained_on(
    tmp_path: Path, photo_dirs, caplog: pytest.LogCaptureFixture
) -> None:
    """A single flat colour (here a 1x1 image) holds no style, and instance norm divides by its
    zero spread: its gradients reach 1e18 and every step would be skipped as non-finite."""
    content, style = photo_dirs
    Image.new("RGB", (1, 1), (200, 30, 30)).save(style / "dot.png")
    with caplog.at_level(logging.WARNING):
        Trainer(tiny_config(content, style, steps=6), tmp_path / "run").run()
    assert "dot.png: a single flat colour" in caplog.text
    assert "non-finite" not in caplog.text.lower() and "nan or inf" not in caplog.text.lower()
    flat_only = tmp_path / "flat"
    flat_only.mkdir()
    Image.new("RGB", (64, 64), (10, 10, 10)).save(flat_only / "black.png")
    with pytest.raises(StyleforgeError, match="no usable image"):
        Trainer(tiny_config(content, flat_only), tmp_path / "run2")


def test_feature_discriminator_trains_and_resumes(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style, steps=4, device="cpu")
    config.model.disc_features = True
    trainer = Trainer(config, tmp_path / "run")
    before = [p.detach().clone() for p in trainer.nets.disc.feature_heads.parameters()]
    assert trainer.run(stop_at=2).steps == 2
    after = list(trainer.nets.disc.feature_heads.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    resumed = resume_trainer(tmp_path / "run")
    assert resumed.config.model.disc_features and resumed.step == 2
    assert resumed.run().steps == 4

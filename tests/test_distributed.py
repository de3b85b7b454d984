"""torchrun on the CPU (gloo): two processes train like one with both batches, rank 0 writes,
and their checkpoint resumes in one process. Plus the pieces that make that exact."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import TINY_CLI, posterise, real_photo, tiny_config
from styleforge.config import TrainConfig
from styleforge.data.datasets import BatchSampler, TrainingData
from styleforge.data.diffaug import diff_augment
from styleforge.errors import StyleforgeError
from styleforge.modelfile import STATE_FORMAT, read_file
from styleforge.training import distributed
from styleforge.training.trainer import Trainer, resume_trainer

pytestmark = pytest.mark.slow  # end to end (training, export, processes): not in `make test-fast`


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(*args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    """`torchrun --nproc_per_node nproc -m styleforge ARGS`, independent of PATH."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(nproc),
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        "-m",
        "styleforge",
        *args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def _state(path: Path) -> dict[str, torch.Tensor]:
    tensors, _ = read_file(path, STATE_FORMAT)
    return tensors


def _assert_same_training(ddp: Path, single: Trainer, steps_apart: int = 1) -> None:
    """Two training states hold the same networks and Adam states, up to float rounding.

    Adam's step is lr * m / (sqrt(v) + eps): for a gradient at rounding-noise level (a conv bias
    under instance norm, mathematically 0) it is lr times the noise's sign, so after one step
    parameters are compared tightly where their gradient is not noise, and within 2 lr where it
    is. Later steps see those parameters, so after `steps_apart` > 1 steps (the same weights,
    rounding apart, for that many steps) the gradient statistics are compared to 1% and the
    parameters to 4 lr per step."""
    a, b = _state(ddp), _state(single.state_path)
    assert a.keys() == b.keys()
    nets, lr = single.nets, single.config.optim.lr
    grads = {}  # parameter -> the one-process run's Adam m (a multiple of its gradient)
    for group, modules in (("g", ("net", "nce", "back")), ("d", ("disc", "disc_back"))):
        named = [
            f"module/{name}/{key}"
            for name in modules
            if getattr(nets, name) is not None
            for key, _ in getattr(nets, name).named_parameters()
        ]
        for i, key in enumerate(named):
            if f"optim/{group}/{i}/exp_avg" in b:
                grads[key] = b[f"optim/{group}/{i}/exp_avg"]
    assert grads
    for key in a:
        x, y = a[key], b[key]
        if not x.is_floating_point():
            assert torch.equal(x, y), key
        elif key.startswith("optim/"):  # gradient statistics: rounding only
            rtol, atol = (1e-3, 1e-6) if steps_apart == 1 else (1e-2, 1e-5)
            assert float((x - y).abs().max()) <= rtol * float(y.abs().max()) + atol, key
        elif steps_apart > 1:
            assert float((x - y).abs().max()) <= 4 * lr * steps_apart, key
        else:
            m = grads.get(key.replace("module/ema/", "module/net/"))
            noise = m.abs() < 1e-5 if m is not None else torch.zeros_like(x, dtype=torch.bool)
            diff = (x - y).abs()
            signal = float(torch.where(noise, 0.0, diff).max())
            assert signal <= 2e-6, (key, signal)
            assert float(diff.max()) <= 2 * lr + 1e-6, key


def _single(run: Path, steps: int, out: Path) -> Trainer:
    """One process with the two-process run's config and both ranks' batches together."""
    config = TrainConfig.load_yaml(run / "config.yaml")
    config.batch_size *= 2
    config.steps = steps
    trainer = Trainer(config, out)
    trainer.run()
    return trainer


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("photos")
    content, style = root / "content", root / "style"
    content.mkdir()
    style.mkdir()
    for name in ("astronaut", "chelsea"):
        real_photo(name).save(content / f"{name}.png")
    for name in ("coffee", "rocket"):
        posterise(real_photo(name)).save(style / f"{name}.jpg")
    return content, style


@pytest.fixture(scope="module")
def two_process_run(photos, tmp_path_factory) -> Path:
    """One step of `torchrun --nproc_per_node 2`, batch 2 per process, in a fresh run folder.

    No reference steps: they pair images inside a rank's share, which one process's pairing
    over the whole batch cannot match. R1 on: a double backward through DDP (on the pixel
    discriminator: with the feature heads, R1's gradients under DDP differ from one process's,
    an open finding; the default recipe, heads without R1, is `default_recipe_run`)."""
    return _two_process_step(photos, tmp_path_factory, "--r1-gamma", "1", "--no-disc-features")


@pytest.fixture(scope="module")
def default_recipe_run(photos, tmp_path_factory) -> Path:
    """The same step with the default recipe's discriminator (feature heads on, no R1)."""
    return _two_process_step(photos, tmp_path_factory)


def _two_process_step(photos, tmp_path_factory, *options: str) -> Path:
    content, style = photos
    run = tmp_path_factory.mktemp("ddp") / "run"
    proc = torchrun(
        "train",
        *("--content", str(content), "--style", str(style), "--out", str(run)),
        *("--steps", "1", "--ref-every", "0", *options, *TINY_CLI, "--log-every", "1"),
        *("--device", "cpu"),  # gloo, also where a GPU is visible
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.count("done: 1 steps") == 1, proc.stdout  # rank 0 alone prints
    assert "batch 2 per process x 2 processes = 4 per step" in proc.stderr
    return run


def test_two_processes_train_like_one_with_both_batches(
    two_process_run: Path, tmp_path: Path
) -> None:
    single = _single(two_process_run, 1, tmp_path / "one")
    # every network (G, mapping, encoder, PatchNCE heads, D, EMA) and both Adam states
    _assert_same_training(two_process_run / "train_state.safetensors", single)
    initial = Trainer(single.config, tmp_path / "init").nets.net.state_dict()
    trained = single.nets.net.state_dict()
    assert not torch.allclose(initial["generator.head.weight"], trained["generator.head.weight"])
    # rank 0 wrote the run folder, with the losses averaged over the ranks
    written = {p.name for p in two_process_run.iterdir()}
    assert {"model.safetensors", "config.yaml", "metrics.jsonl", "samples"} <= written
    assert not list(two_process_run.glob(".*.tmp"))
    ddp_row = json.loads((two_process_run / "metrics.jsonl").read_text())
    one_row = json.loads((tmp_path / "one" / "metrics.jsonl").read_text())
    assert ddp_row.keys() == one_row.keys()
    for key in ddp_row:
        assert abs(ddp_row[key] - one_row[key]) <= 1e-4 * (1 + abs(one_row[key])), key


def test_two_processes_train_the_default_recipe_like_one(
    default_recipe_run: Path, tmp_path: Path
) -> None:
    single = _single(default_recipe_run, 1, tmp_path / "one")
    assert single.config.model.disc_features and single.config.optim.lambda_feat > 0
    _assert_same_training(default_recipe_run / "train_state.safetensors", single)


def test_two_process_checkpoint_resumes_in_one_process(
    two_process_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(two_process_run, run)
    # one process with --batch-size 4 keeps the effective batch: it goes on as the
    # uninterrupted one-process run with batch 4 does
    resumed = resume_trainer(run, steps=2, batch_size=4)
    assert resumed.step == 1 and resumed.world.size == 1
    assert resumed.run().steps == 2
    single = _single(two_process_run, 2, tmp_path / "one")
    _assert_same_training(resumed.state_path, single, steps_apart=2)
    # with the saved per-process batch (2) it resumes too, on a smaller effective batch
    again = tmp_path / "again"
    shutil.copytree(two_process_run, again)
    assert resume_trainer(again, steps=2).run().steps == 2
    rows = [json.loads(line) for line in (again / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2]


def test_shares_of_the_global_batch_are_the_one_process_batch(photos) -> None:
    content, style = photos
    config = tiny_config(content, style)
    config.data.rotate, config.data.colour_jitter = 10.0, 0.2
    data = TrainingData.load(config.data)

    def draw(sampler: BatchSampler) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(7)
        c = sampler.content(gen)
        s, labels = sampler.style(gen)
        return c, s, labels

    whole = draw(BatchSampler(data, config.data, 6))
    shares = [draw(BatchSampler(data, config.data, 2, rank, 3)) for rank in range(3)]
    for i in range(3):
        assert torch.equal(whole[i], torch.cat([share[i] for share in shares]))

    x = torch.rand(6, 3, 16, 16) * 2 - 1
    full = diff_augment(x, torch.Generator().manual_seed(3))
    parts = [
        diff_augment(x[r : r + 2], torch.Generator().manual_seed(3), (r, 6)) for r in (0, 2, 4)
    ]
    assert torch.equal(full, torch.cat(parts))


def test_batch_norm_under_cpu_ddp_is_a_clear_error() -> None:
    world = distributed.World(rank=0, size=2, device=torch.device("cpu"))
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    with pytest.raises(StyleforgeError, match="--norm batch needs CUDA"):
        distributed.convert_batch_norm([net], world)
    distributed.convert_batch_norm([net], distributed.World())  # one process: left as it is
    assert isinstance(net[1], torch.nn.BatchNorm2d)


def test_single_process_helpers_are_identities() -> None:
    world = distributed.World()
    assert not world.enabled and world.is_main
    assert distributed.all_mean({"a": 1.5}, world) == {"a": 1.5}
    assert distributed.from_main(2.5, world) == 2.5
    calls = distributed.wrap(torch.nn.Linear(2, 3), world)
    x = torch.ones(1, 2)
    assert torch.equal(calls(x), calls.inner(x))
    assert isinstance(calls, distributed.Calls)


def test_precision_option(photo_dirs, tmp_path: Path) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style, steps=1, precision="bf16", device="cpu")
    trainer = Trainer(config, tmp_path / "run")  # CPU autocast, when asked for
    assert trainer.precision == "bf16" and not trainer.channels_last
    assert trainer.run().steps == 1
    auto = Trainer(tiny_config(content, style, device="cpu"), tmp_path / "b")
    assert auto.precision == "fp32"  # auto on the CPU
    with pytest.raises(StyleforgeError, match="--precision"):
        TrainConfig(precision="fp16").validate()

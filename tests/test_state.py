"""A run's state: SIGKILL at any moment resumes, NaN/inf steps are skipped and rolled back, and
a failed checkpoint keeps the previous one intact (docs/reliability.md says what each holds)."""

from __future__ import annotations

import errno
import logging
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import TINY_CLI, fail_os_call, temp_files, tiny_config
from styleforge.atomic import WriteError
from styleforge.cli import main
from styleforge.errors import StyleforgeError
from styleforge.inference.stylizer import Stylizer
from styleforge.modelfile import STATE_FORMAT, read_file
from styleforge.run_folder import MODEL_NAME, STATE_NAME
from styleforge.training import state as state_module
from styleforge.training.trainer import Trainer, resume_trainer


def _state_step(run: Path) -> int:
    _, meta = read_file(run / STATE_NAME, STATE_FORMAT)
    return int(meta["progress"]["step"])


def _all_finite(path: Path) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in Stylizer.load(path).net.state_dict().values())


def _nan_at(steps: set[int], which: str = "g", kind: str = "loss"):
    """A fault hook making the loss (or only its gradient) NaN once at each of `steps`."""
    pending = set(steps)

    def hook(step: int, part: str, loss: torch.Tensor) -> torch.Tensor:
        if part != which or step not in pending:
            return loss
        pending.discard(step)
        if kind == "loss":
            return loss * float("nan")
        loss = loss * 1.0
        loss.register_hook(lambda grad: grad * float("inf"))  # finite loss, inf/NaN gradient
        return loss

    return hook


@pytest.mark.slow
def test_sigkill_at_random_points_always_resumes(tmp_path: Path, photo_dirs) -> None:
    """At least 10 SIGKILLs at random moments (some in start-up, most while training and
    checkpointing every 2 steps): each time the checkpoint reads, the model loads, the resume
    starts exactly at the last checkpoint, and the step never goes back past it."""
    content, style = photo_dirs
    run = tmp_path / "run"
    rng = random.Random(1234)
    first = ["train", "--content", str(content), "--style", str(style), "--out", str(run)]
    first += ["--steps", "100000", "--save-every", "2", "--sample-every", "5", *TINY_CLI]
    resume = ["train", "--resume", str(run)]
    kills, last_checkpoint, deadline = 0, 0, time.monotonic() + 240
    while kills < 12 and time.monotonic() < deadline:
        if kills == 5 and (run / STATE_NAME).exists():  # a temp file left by an earlier kill
            (run / f".{MODEL_NAME}.stale123.tmp").write_bytes(b"half a checkpoint")
        args = resume if (run / "config.yaml").exists() else first
        proc = subprocess.Popen(
            [sys.executable, "-m", "styleforge", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if kills % 4 == 3:  # anywhere in start-up (imports, data loading, first checkpoint)
            time.sleep(rng.uniform(0.0, 3.0))
        else:  # while training: after the run has logged, a random fraction of a second on
            grace = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < grace:
                if (run / "metrics.jsonl").exists() and _state_step(run) > last_checkpoint:
                    break
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.6))
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        kills += 1
        started = re.search(r"resuming .* at step (\d+)", err)
        if started:
            assert int(started.group(1)) == last_checkpoint, err
        if (run / STATE_NAME).exists():
            step = _state_step(run)  # the newest complete checkpoint is readable ...
            assert step >= last_checkpoint  # ... and never older than the one resumed from
            last_checkpoint = step
        if (run / MODEL_NAME).exists():
            assert _all_finite(run / MODEL_NAME)
    assert kills >= 10
    assert last_checkpoint > 0, "no kill landed after a checkpoint"
    end = last_checkpoint + 3
    done = subprocess.run(
        [sys.executable, "-m", "styleforge", *resume, "--steps", str(end)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"at step {last_checkpoint}" in done.stderr
    assert _state_step(run) == end
    assert _all_finite(run / MODEL_NAME)
    assert temp_files(run) == [] and temp_files(run / "samples") == []


def test_resume_before_the_first_checkpoint_starts_over(tmp_path: Path, photo_dirs) -> None:
    """A run killed before any checkpoint (only config.yaml written) resumes from step 0."""
    content, style = photo_dirs
    run = tmp_path / "run"
    run.mkdir()
    tiny_config(content, style, steps=2).save_yaml(run / "config.yaml")
    trainer = resume_trainer(run)
    assert trainer.step == 0
    assert trainer.run().steps == 2
    assert _state_step(run) == 2


def test_stale_temp_files_are_removed_on_start(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    run = tmp_path / "run"
    trainer = Trainer(tiny_config(content, style, steps=2), run)
    (run / "samples").mkdir(parents=True)
    stale = [run / ".train_state.safetensors.x1y2.tmp", run / "samples" / ".step_000001.png.ab.tmp"]
    for path in stale:
        path.write_bytes(b"partial")
    keep = run / "notes.tmp"  # not one of ours: left alone
    keep.write_text("mine")
    trainer.run()
    assert not any(p.exists() for p in stale)
    assert keep.read_text() == "mine"


@pytest.mark.parametrize(("which", "kind"), [("g", "loss"), ("d", "loss"), ("g", "grad")])
def test_a_nan_step_is_skipped(tmp_path: Path, photo_dirs, which: str, kind: str, caplog) -> None:
    content, style = photo_dirs
    trainer = Trainer(tiny_config(content, style, steps=6, save_every=1000), tmp_path / "run")
    trainer.run(stop_at=3)
    before = {k: v.clone() for k, v in trainer.nets.net.state_dict().items()}
    disc_before = {k: v.clone() for k, v in trainer.nets.disc.state_dict().items()}
    trainer.fault_hook = _nan_at({3}, which, kind)
    with caplog.at_level(logging.WARNING):
        trainer.run(stop_at=4)
    assert "step 3: NaN or inf" in caplog.text and "step skipped" in caplog.text
    after = trainer.nets.net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # no update from the bad step
    disc_after = trainer.nets.disc.state_dict()
    if which == "d":  # a bad D pass skips both updates; after a bad G pass D's finite one stands
        assert all(torch.equal(disc_before[k], disc_after[k]) for k in disc_before)
    assert all(bool(torch.isfinite(v).all()) for v in disc_after.values())
    assert trainer.run().steps == 6 and trainer.rollbacks == 0
    assert _all_finite(trainer.model_path)


def test_bad_steps_in_a_row_roll_back_with_a_lower_lr(tmp_path: Path, photo_dirs, caplog) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style, steps=12, save_every=4, max_bad_steps=3)
    config.optim.decay_start = 1.0  # a constant schedule: the rollback's factor alone
    trainer = Trainer(config, tmp_path / "run")
    trainer.fault_hook = _nan_at({5, 9, 10, 11})  # one skip, then three in a row
    with caplog.at_level(logging.WARNING):
        result = trainer.run()
    assert result.steps == 12
    assert trainer.rollbacks == 1 and trainer.lr_scale == 0.5
    assert "rolled back to the checkpoint at step 8 with the learning rate x0.5" in caplog.text
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(config.optim.lr * 0.5)
    _, meta = read_file(trainer.state_path, STATE_FORMAT)
    assert meta["progress"]["lr_scale"] == 0.5  # a resume keeps the lowered rate
    assert resume_trainer(trainer.run_dir).lr_scale == 0.5
    assert _all_finite(trainer.model_path)


def test_persistent_nan_gives_up_with_a_clear_error(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    config = tiny_config(content, style, steps=50, save_every=1000, max_bad_steps=2)
    trainer = Trainer(config, tmp_path / "run")
    trainer.fault_hook = lambda step, part, loss: loss * float("nan") if step >= 1 else loss
    with pytest.raises(StyleforgeError, match="training diverged.*after 5 rollbacks"):
        trainer.run()
    assert trainer.lr_scale == 0.5**state_module.MAX_ROLLBACKS
    assert _state_step(trainer.run_dir) == 0  # the run-start checkpoint: good, untouched
    assert _all_finite(trainer.model_path)


def test_a_network_with_nan_is_never_saved(tmp_path: Path, photo_dirs) -> None:
    content, style = photo_dirs
    trainer = Trainer(tiny_config(content, style, steps=2), tmp_path / "run")
    trainer.run()
    saved = trainer.model_path.read_bytes()
    with torch.no_grad():
        next(trainer.nets.ema.model.parameters()).fill_(float("nan"))
    with pytest.raises(StyleforgeError, match="NaN or inf.*not saved"):
        trainer.save()
    assert trainer.model_path.read_bytes() == saved


def test_max_bad_steps_option(tmp_path: Path, photo_dirs, capsys) -> None:
    content, style = photo_dirs
    base = ["train", "--content", str(content), "--style", str(style), *TINY_CLI]
    assert main([*base, "--out", str(tmp_path / "a"), "--max-bad-steps", "0"]) == 1
    assert "--max-bad-steps must be >= 1" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "b"), "--steps", "1", "--max-bad-steps", "2"]) == 0
    assert resume_trainer(tmp_path / "b").config.max_bad_steps == 2


@pytest.mark.parametrize("where", ["replace", "fsync"])
def test_disk_full_during_checkpoint_keeps_the_previous_one(
    tmp_path: Path, photo_dirs, monkeypatch, caplog, where: str
) -> None:
    content, style = photo_dirs
    trainer = Trainer(tiny_config(content, style, steps=8, save_every=2), tmp_path / "run")
    trainer.run(stop_at=4)
    run = trainer.run_dir
    saved = {name: (run / name).read_bytes() for name in (MODEL_NAME, STATE_NAME)}
    fail_os_call(monkeypatch, where)
    with caplog.at_level(logging.ERROR), pytest.raises(WriteError) as info:
        trainer.run()  # periodic saves at 6 and 8 fail (logged), the final one raises
    assert "no space left on the device" in str(info.value)
    assert "checkpoint at step 6 not written; training goes on" in caplog.text
    assert {name: (run / name).read_bytes() for name in saved} == saved
    assert temp_files(run) == []
    monkeypatch.undo()
    assert resume_trainer(run).step == 4 and _all_finite(run / MODEL_NAME)


def test_cli_reports_a_failed_checkpoint_in_one_line(
    tmp_path: Path, photo_dirs, monkeypatch, capsys
) -> None:
    content, style = photo_dirs
    run = tmp_path / "run"
    Trainer(tiny_config(content, style, steps=2), run).run()
    saved = (run / STATE_NAME).read_bytes()
    fail_os_call(monkeypatch, "replace", errno.EROFS)
    assert main(["train", "--resume", str(run), "--steps", "3"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: cannot write") and "read-only" in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert (run / STATE_NAME).read_bytes() == saved

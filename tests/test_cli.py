"""The command line: every option documented, usage errors in one line with exit 2."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from styleforge.cli import build_parser, main


def _subparsers(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subparsers(sub, (*prefix, name))


def test_every_option_has_help(capsys: pytest.CaptureFixture) -> None:
    commands = list(_subparsers(build_parser()))
    assert {c for c, _ in commands} >= {(), ("train",), ("stylize",), ("demo",), ("data", "check")}
    for command, parser in commands:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"{' '.join(command)} {action.option_strings or action.dest}"
        with pytest.raises(SystemExit) as info:
            main([*command, "--help"])
        assert info.value.code == 0
        text = capsys.readouterr().out
        for action in parser._actions:
            for flag in action.option_strings:
                if action.help != argparse.SUPPRESS:
                    assert flag in text, (command, flag)


@pytest.mark.parametrize(
    "argv",
    [["train", "--steps", "many"], ["train", "--preset", "huge"], ["nonsense"], ["stylize"]],
)
def test_usage_errors_are_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["train", "--content", "/no/such/dir", "--style", "/tmp", "--out", "X"], "does not exist"),
        (["train", "--out", "X"], "give --content"),
        (
            ["train", "--content", ".", "--style", ".", "--out", "X", "--crop-size", "300"],
            "--crop-size 300 is larger",
        ),
        (["train", "--content", ".", "--style", ".", "--out", "X", "--dropout", "2"], "--dropout"),
        (
            ["train", "--content", ".", "--style", ".", "--out", "X", "--local-affine", "-4"],
            "--local-affine must be >= 0",
        ),
        (
            [
                "train",
                "--content",
                ".",
                "--style",
                ".",
                "--out",
                "X",
                "--no-skip",
                "--local-affine",
                "8",
            ],
            "--local-affine transforms the input: it needs --skip",
        ),
        (
            ["train", "--content", ".", "--style", ".", "--out", "X", "--detail-radius", "-1"],
            "--detail-radius must be >= 0",
        ),
        (["train", "--resume", "/no/such/run"], "nothing to resume"),
        (["data", "check", "/no/such/dir"], "does not exist"),
    ],
)
def test_user_errors_are_one_line_exit_1(
    tmp_path: Path, argv: list[str], needle: str, capsys, monkeypatch
) -> None:
    """In process, for speed; the next test runs one through the real entry point."""
    monkeypatch.chdir(tmp_path)
    argv = [str(tmp_path / a) if a == "X" else a for a in argv]
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines


def test_the_entry_point_prints_a_user_error_alone(tmp_path: Path) -> None:
    """`python -m styleforge` with a user error: one `error:` line on stderr (no log lines, no
    traceback) and exit status 1."""
    proc = subprocess.run(
        [sys.executable, "-m", "styleforge", "train", "--content", "/no/such/dir"]
        + ["--style", str(tmp_path), "--out", str(tmp_path / "X")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: --content folder /no/such/dir does not exist"
    ], proc.stderr


def test_no_skip_trains_without_the_default_texture_gain(tmp_path: Path, photo_dirs) -> None:
    """The default texture gain scales the input's texture, so `--no-skip` (CycleGAN's plain
    output) trains, and its model holds no gain."""
    from conftest import TINY_CLI
    from styleforge.inference.stylizer import Stylizer

    content, style = photo_dirs
    run = tmp_path / "run"
    argv = ["train", "--content", str(content), "--style", str(style), "--out", str(run)]
    assert main([*argv, "--no-skip", "--steps", "1", *TINY_CLI]) == 0
    generator = Stylizer.load(run / "model.safetensors", device="cpu").net.generator
    assert not generator.skip and generator.detail is None


def test_data_check_names_bad_files(tmp_path: Path) -> None:
    from conftest import real_photo

    (tmp_path / "styles" / "ink").mkdir(parents=True)
    (tmp_path / "styles" / "oil").mkdir()
    real_photo("coffee", 32).save(tmp_path / "styles" / "ink" / "a.png")
    real_photo("rocket", 32).save(tmp_path / "styles" / "oil" / "b.png")
    (tmp_path / "styles" / "oil" / "broken.jpg").write_bytes(b"nope")
    proc = subprocess.run(
        [sys.executable, "-m", "styleforge", "data", "check", str(tmp_path / "styles")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0
    assert "styles/ink: 1 images loaded" in proc.stdout
    assert "styles/oil: 1 images loaded, 1 skipped" in proc.stdout and "broken.jpg" in proc.stdout


# the smallest arguments each command parses with (no file is read while parsing)
DEVICE_COMMANDS = {
    "train": ["train", "--content", "c", "--style", "s", "--out", "X"],
    "stylize": ["stylize", "MODEL", "a.png", "-o", "X"],
    "export": ["export", "MODEL", "-o", "X/model.onnx"],
    "evaluate": ["evaluate", "MODEL", "--content", "c", "--style", "s", "-o", "X"],
    "bench": ["bench", "--json"],
    "demo": ["demo", "--out", "X"],
}


@pytest.mark.parametrize("command", DEVICE_COMMANDS)
def test_device_parses_on_every_command(command: str) -> None:
    argv = DEVICE_COMMANDS[command]
    parser = build_parser()
    assert parser.parse_args([*argv, "--device", "mps"]).device == "mps"
    default = parser.parse_args(argv).device
    assert default == ("auto" if command != "train" else None)  # train: the config's, auto


def test_device_has_one_help_on_every_command() -> None:
    from styleforge.device import DEVICE_HELP

    commands = dict(_subparsers(build_parser()))
    for command in DEVICE_COMMANDS:
        (action,) = [a for a in commands[(command,)]._actions if "--device" in a.option_strings]
        assert action.help.startswith(f"{DEVICE_HELP} (default auto)"), command
        assert action.metavar == "DEVICE"


@pytest.mark.parametrize("command", DEVICE_COMMANDS)
def test_a_missing_device_is_one_error_line_before_any_work(
    command: str,
    tmp_path: Path,
    photo_dirs: tuple[Path, Path],
    model_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "out"
    content, style = photo_dirs
    names = {"X": str(out), "MODEL": str(model_file), "c": str(content), "s": str(style)}
    argv = [names.get(a, a.replace("X/", f"{out}/")) for a in DEVICE_COMMANDS[command]]
    assert main([*argv, "--device", "cuda"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --device cuda asked for, but no CUDA device is available"], err
    assert not out.exists()


def test_train_is_the_python_api(
    tmp_path: Path, photo_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`styleforge train` builds the config from its flags and calls `styleforge.train`: the
    same code path as a script."""
    from styleforge.training import api

    calls = []

    def record(config, out, **options):
        calls.append((config, out, options))
        return api.TrainResult(Path(out), Path(out) / "model.safetensors", 3, 1.0, False)

    monkeypatch.setattr(api, "train", record)
    content, style = photo_dirs
    argv = ["train", "--content", str(content), "--style", str(style), "--out", str(tmp_path)]
    assert main([*argv, "--steps", "3", "--preset", "base", "--device", "cpu"]) == 0
    ((config, out, options),) = calls
    assert out == str(tmp_path) and options == {"overwrite": False}
    assert config.steps == 3 and config.device == "cpu" and config.data.content == str(content)
    assert config.model.preset == "base" and config.model.ngf == 32  # the preset's shape

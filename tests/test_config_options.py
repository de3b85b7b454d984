"""`train`'s options come from the config's declared fields: help defaults that are the real
defaults, flags that set the fields they name, and YAML files checked like the flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from styleforge.cli import build_parser, main
from styleforge.cli.config_options import apply_config_options, config_fields
from styleforge.config import TrainConfig, flag_of


def _help(capsys: pytest.CaptureFixture, *flags: str) -> str:
    with pytest.raises(SystemExit) as info:
        main(["train", *flags])
    assert info.value.code == 0
    return capsys.readouterr().out


def _entries(text: str) -> dict[str, str]:
    """Each option's help entry (flag -> its text on one line), from argparse's layout."""
    entries: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        head = re.match(r"  (--[a-z0-9-]+)", line)
        if head:
            current = entries.setdefault(head.group(1), [])
        elif not line.startswith("      "):
            current = None  # a group title or a blank line ends the entry
        if current is not None:
            current.append(line.strip())
    return {flag: " ".join(lines) for flag, lines in entries.items()}


def _read_default(text: str):
    """A help default as a value: on/off, a number or a word."""
    if text in ("on", "off"):
        return text == "on"
    try:
        return float(text)
    except ValueError:
        return text


def test_every_flag_shows_the_dataclass_default(capsys: pytest.CaptureFixture) -> None:
    entries = _entries(_help(capsys, "--help-all"))
    config = TrainConfig()
    checked = 0
    for _, section, field, _ in config_fields():
        flag = flag_of(field.name)
        shown = re.search(r"\(default ([^)]+)\)", entries[flag])
        actual = getattr(getattr(config, section) if section else config, field.name)
        if actual is None:  # no default of its own (a folder, or another option's value)
            assert shown is None or shown.group(1).startswith("--"), flag
            continue
        assert shown is not None, flag
        value = _read_default(shown.group(1))
        if isinstance(actual, bool) or isinstance(value, str):
            assert value == actual, (flag, value, actual)
        else:
            assert value == pytest.approx(actual), (flag, value, actual)
        checked += 1
    assert checked >= 45


def test_help_fits_on_two_screens_and_help_all_shows_the_rest(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    short = capsys.readouterr().out
    assert len(short.splitlines()) <= 100
    assert "--lr" in _entries(short) and "--ngf" not in _entries(short)
    full = _entries(_help(capsys, "--help-all"))
    assert "--ngf" in full and "--local-affine" in full


def test_flags_set_the_fields_they_name() -> None:
    argv = ["train", "--crop-size", "64", "--no-flip", "--lr", "1e-3", "--ngf", "8"]
    args = build_parser().parse_args([*argv, "--lambda-ds", "2", "--steps", "7"])
    config = TrainConfig()
    apply_config_options(args, config, skip=lambda name: False)
    assert (config.data.crop_size, config.data.flip, config.optim.lr) == (64, False, 1e-3)
    assert (config.model.ngf, config.optim.lambda_ds, config.steps) == (8, 2.0, 7)
    assert config.data.load_size == TrainConfig().data.load_size  # left out: unchanged


def _train(tmp_path: Path, yaml_text: str, capsys) -> tuple[int, str]:
    """`train --config` with `yaml_text` (in process): exit status and stderr."""
    (tmp_path / "c.yaml").write_text(yaml_text)
    argv = ["train", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "run")]
    code = main([*argv, "--content", "/no/such", "--style", "/no/such"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("yaml_text", "needle"),
    [
        ("optim:\n  lr: fast\n", "config key optim.lr must be a number, got 'fast'"),
        ("steps: '10'\n", "config key steps must be a whole number, got '10'"),
        ("model:\n  skip: maybe\n", "config key model.skip must be true or false"),
        ("optim:\n  gan_loss: wgan\n", "--gan-loss must be one of bce, lsgan, hinge"),
        ("data:\n  crop_size: 0\n", "--crop-size must be >= 1, got 0"),
    ],
)
def test_bad_yaml_values_are_one_line_errors(
    tmp_path: Path, yaml_text: str, needle: str, capsys
) -> None:
    code, err = _train(tmp_path, yaml_text, capsys)
    assert code == 1, err
    assert err.strip().splitlines() == [f"error: {needle}"] or needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_yaml_reads_a_number_pyyaml_takes_for_text(tmp_path: Path) -> None:
    """PyYAML reads `2e-4` (no dot) as a string; the config takes it as the number it spells."""
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lr: 2e-4\n  lr_d: 1e-4\n")
    config = TrainConfig.load_yaml(path)
    assert (config.optim.lr, config.optim.lr_d) == (2e-4, 1e-4)
    assert isinstance(config.optim.lr, float)

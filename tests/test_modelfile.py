"""Model files: round trip, and one-line errors for truncated, foreign or hostile files."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from conftest import tiny_config
from styleforge.errors import ModelFileError
from styleforge.inference.stylizer import Stylizer
from styleforge.modelfile import load_model_file, save_model
from styleforge.models.stylenet import StyleNet


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    config = tiny_config()
    path = tmp_path / "model.safetensors"
    torch.manual_seed(0)
    save_model(path, StyleNet(config.model), config, {"step": 0})
    return path


def test_round_trip_rebuilds_the_network(model_file: Path) -> None:
    tensors, config, meta = load_model_file(model_file)
    assert config.model.ngf == 8 and meta["step"] == 0
    stylizer = Stylizer.load(model_file)
    for key, value in stylizer.net.state_dict().items():
        assert torch.equal(value.cpu(), tensors[key])


def _bad_files(tmp_path: Path, model_file: Path) -> dict[str, Path]:
    data = model_file.read_bytes()
    files = {}
    files["truncated"] = tmp_path / "truncated.safetensors"
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["foreign"] = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(3)}, files["foreign"], metadata={"producer": "other"})
    files["huge_header"] = tmp_path / "huge.safetensors"
    files["huge_header"].write_bytes(struct.pack("<Q", 2**60) + b"{}")
    files["text"] = tmp_path / "text.safetensors"
    files["text"].write_text("this is not a model")
    files["not_json_meta"] = tmp_path / "meta.safetensors"
    header = json.dumps(
        {
            "__metadata__": {
                "format": "styleforge-model",
                "format_version": "1",
                "config": "{not json",
            }
        }
    ).encode()
    files["not_json_meta"].write_bytes(struct.pack("<Q", len(header)) + header)
    files["empty"] = tmp_path / "empty.safetensors"
    files["empty"].write_bytes(b"")
    return files


def test_bad_model_files_give_one_clear_error(tmp_path: Path, model_file: Path) -> None:
    for kind, path in _bad_files(tmp_path, model_file).items():
        with pytest.raises(ModelFileError) as info:
            Stylizer.load(path)
        message = str(info.value)
        assert "\n" not in message and str(path) in message, kind


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        Stylizer.load(tmp_path / "absent.safetensors")


def test_cli_reports_bad_model_in_one_line(tmp_path: Path, model_file: Path) -> None:
    from conftest import real_photo

    real_photo("chelsea", 32).save(tmp_path / "in.png")
    for kind in ("truncated", "foreign"):
        bad = _bad_files(tmp_path, model_file)[kind]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "styleforge",
                "stylize",
                str(bad),
                str(tmp_path / "in.png"),
                "-o",
                str(tmp_path / "out"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        assert "Traceback" not in proc.stderr


def test_configs_saved_before_a_key_existed_keep_their_old_behaviour() -> None:
    from styleforge.config import TrainConfig

    raw = TrainConfig().to_dict()
    del raw["model"]["disc_input"], raw["model"]["stats_transfer"]
    old = TrainConfig.from_saved(raw)
    assert (old.model.disc_input, old.model.stats_transfer) == ("rgb", False)
    fresh = TrainConfig.from_dict(raw)  # a user's partial config takes today's defaults
    assert (fresh.model.disc_input, fresh.model.stats_transfer) == ("split", True)
    assert "disc_input" not in raw["model"]  # the caller's dict is left as it was


def test_keys_renamed_since_are_read_under_their_new_names() -> None:
    from styleforge.config import TrainConfig
    from styleforge.errors import StyleforgeError

    raw = TrainConfig().to_dict()
    raw["data"]["color_jitter"] = raw["data"].pop("colour_jitter") + 0.2
    raw["optim"]["diffaug_policy"] = "color,cutout"
    old = TrainConfig.from_saved(raw)
    assert old.data.colour_jitter == 0.2 and old.optim.diffaug_parts == {"colour", "cutout"}
    with pytest.raises(StyleforgeError, match="color_jitter \\(now data.colour_jitter\\)"):
        TrainConfig.from_dict({"data": {"color_jitter": 0.1}})  # a user's file: told, not guessed


def _saved_with(tmp_path: Path, section: str, key: str, value) -> Path:
    """A model file whose config holds an option styleforge has since removed."""
    from styleforge.modelfile import MODEL_FORMAT, write_file

    config = tiny_config()
    raw = config.to_dict()
    raw[section][key] = value
    path = tmp_path / f"{key}.safetensors"
    write_file(path, StyleNet(config.model).state_dict(), MODEL_FORMAT, {"config": raw})
    return path


def test_removed_options_left_off_load_with_a_warning(tmp_path: Path, caplog) -> None:
    for section, key, value in (("model", "ink", False), ("optim", "luma_pool", 32)):
        with caplog.at_level("WARNING", logger="styleforge.saved_configs"):
            Stylizer.load(_saved_with(tmp_path, section, key, value))
        assert f"{section}.{key} is no longer an option; ignored (it was off)" in caplog.text


def test_removed_options_that_were_on_are_refused_or_only_warned(tmp_path: Path, caplog) -> None:
    from styleforge.config import TrainConfig
    from styleforge.errors import StyleforgeError

    # a part of the generator that no longer exists: the model cannot be built
    with pytest.raises(ModelFileError, match="model.ink = True was removed from styleforge"):
        Stylizer.load(_saved_with(tmp_path, "model", "ink", True))
    # a training-only term: the weights are what they are, so the model loads ...
    with caplog.at_level("WARNING", logger="styleforge.saved_configs"):
        Stylizer.load(_saved_with(tmp_path, "optim", "lambda_color", 40.0))
    assert "optim.lambda_color = 40.0 is no longer an option; the model loads" in caplog.text
    # ... but its run cannot be resumed as it was trained
    raw = TrainConfig().to_dict()
    raw["optim"]["lambda_color"] = 40.0
    with pytest.raises(StyleforgeError, match="this run cannot go on as it was trained"):
        TrainConfig.from_saved(raw, resuming=True)

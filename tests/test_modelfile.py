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
    del raw["model"]["disc_input"], raw["optim"]["luma_pool"], raw["optim"]["color_anchor"]
    old = TrainConfig.from_saved(raw)
    assert (old.model.disc_input, old.optim.luma_pool, old.optim.color_anchor) == (
        "rgb",
        0,
        "absolute",
    )
    fresh = TrainConfig.from_dict(raw)  # a user's partial config takes today's defaults
    assert (fresh.model.disc_input, fresh.optim.color_anchor) == ("split", "relative")
    assert "color_anchor" not in raw["optim"]  # the caller's dict is left as it was

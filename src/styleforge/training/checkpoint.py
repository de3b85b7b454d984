"""The training state that resumes a run exactly (the model file users ship: `modelfile`).

A run folder holds `model.safetensors` (the EMA network and the full config) and
`train_state.safetensors` (every network, both optimizers, the EMA copy, the step, the elapsed
time). Both are written atomically; the state is written first and is all `--resume` reads, so
a kill between the two writes loses nothing. Randomness is re-seeded from (seed, step) at every
step, so the step number is the whole RNG state and resume is exact by construction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from styleforge.config import TrainConfig
from styleforge.errors import ModelFileError
from styleforge.modelfile import STATE_FORMAT, config_from_metadata, read_file, write_file


def save_state(
    path: Path,
    modules: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    config: TrainConfig,
    progress: dict[str, Any],
) -> None:
    """Write every network and optimizer plus progress counters, atomically."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"module/{name}/{key}"] = value
    opt_meta = {}
    for name, opt in optimizers.items():
        state = opt.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for idx, slots in state["state"].items():
            for slot, value in slots.items():
                if torch.is_tensor(value):
                    tensors[f"optim/{name}/{idx}/{slot}"] = value
                else:
                    scalars.setdefault(str(idx), {})[slot] = value
        opt_meta[name] = {"param_groups": state["param_groups"], "scalars": scalars}
    meta = {"config": config.to_dict(), "optimizers": opt_meta, "progress": progress}
    write_file(path, tensors, STATE_FORMAT, meta)


def load_state(
    path: Path, modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer]
) -> dict[str, Any]:
    """Restore networks and optimizers in place; return the saved progress counters."""
    tensors, meta = read_file(path, STATE_FORMAT)
    for name, module in modules.items():
        prefix = f"module/{name}/"
        own = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            module.load_state_dict(own)
        except RuntimeError as exc:
            raise ModelFileError(f"{path} does not match this run's networks: {exc}") from None
    for name, opt in optimizers.items():
        saved = meta["optimizers"][name]
        state: dict[int, dict[str, Any]] = {}
        prefix = f"optim/{name}/"
        for key, value in tensors.items():
            if key.startswith(prefix):
                idx, slot = key[len(prefix) :].split("/", 1)
                state.setdefault(int(idx), {})[slot] = value
        for idx, slots in saved["scalars"].items():
            state.setdefault(int(idx), {}).update(slots)
        opt.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    return meta["progress"]


def read_state_config(path: Path) -> TrainConfig:
    """The config a training state was written with (what `--resume` continues)."""
    _, meta = read_file(path, STATE_FORMAT)
    return config_from_metadata(meta, path, resuming=True)

"""Reading and writing styleforge's safetensors files, atomically and without pickle.

A file is a safetensors file whose metadata holds `format` (which kind of styleforge file),
`format_version` and `config` (the run's TrainConfig as JSON), plus any extra JSON fields.
The header is checked before anything is parsed, so a foreign or truncated file gives one clear
`ModelFileError` rather than a traceback.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors_from_bytes
from safetensors.torch import save as save_tensors_to_bytes

from styleforge.atomic import atomic_write_bytes
from styleforge.config import TrainConfig
from styleforge.errors import ModelFileError, StyleforgeError

MODEL_FORMAT = "styleforge-model"
STATE_FORMAT = "styleforge-train-state"
FORMAT_VERSION = "1"
MAX_HEADER_BYTES = 100 * 1024 * 1024


def write_file(
    path: Path, tensors: dict[str, torch.Tensor], kind: str, meta: dict[str, Any]
) -> None:
    """Write tensors plus JSON metadata atomically: temp file, fsync, rename, fsync folder."""
    metadata = {"format": kind, "format_version": FORMAT_VERSION}
    metadata.update({key: json.dumps(value) for key, value in meta.items()})
    payload = save_tensors_to_bytes(
        {k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata=metadata
    )
    atomic_write_bytes(Path(path), payload)


def read_file(path: Path, kind: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and decoded metadata of a styleforge file; ModelFileError if it is not one."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"model file {path} does not exist") from None
    except IsADirectoryError:
        raise ModelFileError(f"model path {path} is a folder, not a model file") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    meta = _decode_meta(path, _check_header(path, data), kind)
    try:
        tensors = load_tensors_from_bytes(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path} is corrupt: {exc}") from None
    return tensors, meta


def read_metadata(path: Path, kind: str) -> dict[str, Any]:
    """Decoded metadata only, reading just the header: listing models without their weights.

    Tensor offsets are not checked here; `read_file` checks them when the weights are loaded."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            prefix = fh.read(8)
            length = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else 0
            data = prefix + fh.read(length) if length <= MAX_HEADER_BYTES else prefix
            size = fh.seek(0, 2)
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _decode_meta(path, _check_header(path, data, size), kind)


def _decode_meta(path: Path, raw_meta: dict[str, str], kind: str) -> dict[str, Any]:
    """Check the format and version fields and decode the JSON values."""
    found = raw_meta.get("format")
    if found != kind:
        what = f"a {found!r} file" if found else "not a styleforge file"
        raise ModelFileError(f"{path} is {what} (expected {kind!r})")
    if raw_meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has format version {raw_meta.get('format_version')!r}; "
            f"this styleforge reads version {FORMAT_VERSION}"
        )
    meta: dict[str, Any] = {}
    for key, value in raw_meta.items():
        if key in ("format", "format_version"):
            continue
        try:
            meta[key] = json.loads(value)
        except json.JSONDecodeError:
            raise ModelFileError(f"{path} has metadata {key!r} that is not JSON") from None
    return meta


def _check_header(path: Path, data: bytes, size: int | None = None) -> dict[str, str]:
    """Validate the safetensors header by hand and return its metadata.

    `data` holds at least the header; `size` is the whole file's (default: len(data))."""
    not_ours = f"{path} is not a safetensors model file"
    if len(data) < 8:
        raise ModelFileError(f"{not_ours} (only {len(data)} bytes)")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > MAX_HEADER_BYTES or 8 + header_len > len(data):
        raise ModelFileError(f"{not_ours} (bad header length; truncated or another format)")
    try:
        header = json.loads(data[8 : 8 + header_len])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{not_ours} (header is not JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{not_ours} (header is not a JSON object)")
    body = (len(data) if size is None else size) - 8 - header_len
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1] <= body
        ):
            raise ModelFileError(f"{path} is truncated or corrupt (tensor {name!r})")
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ModelFileError(f"{not_ours} (metadata is not a mapping of strings)")
    return meta


def save_model(
    path: Path, net: torch.nn.Module, config: TrainConfig, extra: dict[str, Any]
) -> None:
    """Write the shipped network with the config that rebuilds it."""
    meta = {"config": config.to_dict(), **extra}
    write_file(path, net.state_dict(), MODEL_FORMAT, meta)


def load_model_file(path: Path) -> tuple[dict[str, torch.Tensor], TrainConfig, dict[str, Any]]:
    """Weights, config and extra metadata of a model file."""
    tensors, meta = read_file(path, MODEL_FORMAT)
    return tensors, config_from_metadata(meta, path), meta


def read_model_config(path: Path) -> TrainConfig:
    """A model file's config from its header alone (style names for listings, no weights)."""
    return config_from_metadata(read_metadata(path, MODEL_FORMAT), path)


def config_from_metadata(meta: dict[str, Any], path: Path, resuming: bool = False) -> TrainConfig:
    """The TrainConfig in a file's metadata; ModelFileError naming `path` if unreadable.

    `resuming`: for a training state, where a removed training option is an error too."""
    raw = meta.get("config")
    if not isinstance(raw, dict):
        raise ModelFileError(f"{path} has no styleforge config in its metadata")
    try:
        return TrainConfig.from_saved(raw, resuming)
    except (StyleforgeError, TypeError) as exc:
        raise ModelFileError(f"{path} has a config this styleforge cannot read: {exc}") from None

"""Stylizing with onnxruntime: a `.onnx` file from `styleforge export`, no PyTorch model needed.

Same interface as `Stylizer` (PIL, arrays, tensors, batching, variants). Style codes come from
the table the exporter stored (see `export`), or are baked into the graph.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from styleforge.config import TrainConfig
from styleforge.device import available_cores
from styleforge.errors import ModelFileError, StyleforgeError
from styleforge.extras import need
from styleforge.inference.backend import BaseStylizer, pad_to_multiple

# metadata keys of an exported file: the config that rebuilds the model, baked style codes
CONFIG_KEY = "styleforge.config"
CODES_KEY = "styleforge.codes"


class OnnxStylizer(BaseStylizer):
    """An exported generator run by onnxruntime on the CPU."""

    def __init__(self, session, config: TrainConfig, table: dict | None):
        self.session = session
        self.config = config
        self.table = table
        self.baked = table is None

    @classmethod
    def load(cls, path: str | os.PathLike, threads: int = 0) -> OnnxStylizer:
        """Open a `.onnx` file written by `styleforge export`; threads 0: one per core."""
        ort = need("onnxruntime")
        if not Path(path).is_file():
            raise StyleforgeError(f"model file {path} does not exist")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or available_cores()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelFileError(f"{path} is not a usable ONNX file: {exc}") from None
        meta = session.get_modelmeta().custom_metadata_map
        if CONFIG_KEY not in meta:
            raise ModelFileError(f"{path} was not written by `styleforge export`")
        config = TrainConfig.from_saved(json.loads(meta[CONFIG_KEY]))
        table = json.loads(meta[CODES_KEY]) if CODES_KEY in meta else None
        return cls(session, config, table)

    def style_code(
        self,
        style: str | int | None = None,
        seed: int = 0,
        *,
        truncation: float = 1.0,
        noise_scale: float = 1.0,
        mix: dict[str, float] | None = None,
        reference: Image.Image | None = None,
    ) -> torch.Tensor:
        """The code the PyTorch model would give, from the exported table (see `export`)."""
        if reference is not None:
            raise StyleforgeError(
                "--ref needs the .safetensors model (the encoder is not exported)"
            )
        if self.baked:
            if (style, seed, truncation, noise_scale, mix) != (None, 0, 1.0, 1.0, None):
                raise StyleforgeError("this ONNX file has its style code baked in; export again")
            return torch.zeros(1, 0)
        table = self.table
        if noise_scale != table["noise_scale"] or not 0 <= seed < len(table["codes"]):
            raise StyleforgeError(
                f"this ONNX file holds codes for seeds 0..{len(table['codes']) - 1} at noise "
                f"scale {table['noise_scale']}; export with --seeds / --noise-scale for others"
            )
        weights = self._mix_weights(mix) if mix else {self.style_index(style): 1.0}
        code = torch.zeros(1, self.config.model.code_dim)
        for label, weight in weights.items():
            one = torch.tensor(table["codes"][seed][label])
            mean = torch.tensor(table["mean"][label])
            code = code + weight * (mean + truncation * (one - mean))
        return code

    def stylize_tensor(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> same shape in [-1, 1], all with one (1, D) style code."""
        padded, (height, width) = pad_to_multiple(x.float(), self.config.model.size_multiple)
        feeds = {"image": np.ascontiguousarray(padded.numpy())}
        if not self.baked:
            feeds["code"] = code.float().expand(x.shape[0], -1).contiguous().numpy()
        out = self.session.run(None, feeds)[0]
        return torch.from_numpy(out)[:, :, :height, :width]

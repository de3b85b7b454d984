"""ONNX export: the generator with dynamic batch, height and width, for onnxruntime and others.

The style code is either an input (`code`, shape (N, code_dim)) or baked in as a constant
(then `image` is the only input). Since the mapping network stays behind, a file with a code
input also carries, in its metadata, the codes `Stylizer.style_code` gives for seeds
0..seeds-1 of every style and each style's mean code: `--style`, `--seed` (in that range),
`--truncation` and `--mix` then give exactly what the PyTorch model gives, because truncation
and mixing are linear in those codes. The model's config JSON rides along too.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from styleforge.atomic import atomic_write_bytes
from styleforge.errors import StyleforgeError
from styleforge.extras import need
from styleforge.inference.onnx_backend import CODES_KEY, CONFIG_KEY
from styleforge.inference.stylizer import Stylizer

log = logging.getLogger(__name__)

OPSET = 18
EXAMPLE_SIDE = 16  # times the size multiple: big enough that no size is specialised away


class _CodeInput(nn.Module):
    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, image: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return self.generator(image, code)


class _BakedCode(nn.Module):
    def __init__(self, generator: nn.Module, code: torch.Tensor):
        super().__init__()
        self.generator = generator
        self.register_buffer("baked", code.detach().clone())

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.generator(image, self.baked.expand(image.shape[0], -1))


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter logs every graph pass at INFO; keep the user's terminal for our lines."""
    loggers = [logging.getLogger(name) for name in ("onnxscript", "onnx_ir", "torch.onnx")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def code_table(stylizer: Stylizer, seeds: int, noise_scale: float = 1.0) -> dict[str, Any]:
    """Codes for seeds 0..seeds-1 of every style (truncation 1) and each style's mean code."""
    codes = [
        [
            stylizer.style_code(style, seed, noise_scale=noise_scale)[0].tolist()
            for style in stylizer.styles
        ]
        for seed in range(seeds)
    ]
    labels = torch.arange(len(stylizer.styles), device=stylizer.device)
    with torch.inference_mode():
        means = stylizer.net.mean_codes(labels).cpu().tolist()
    return {"noise_scale": noise_scale, "codes": codes, "mean": means}


def export_onnx(
    stylizer: Stylizer,
    path: Path,
    baked_code: torch.Tensor | None = None,
    seeds: int = 8,
    noise_scale: float = 1.0,
) -> None:
    """Write `path` (atomically): fp32, opset 18, dynamic N/H/W; see the module notes.

    The graph is traced from a CPU copy of the generator, wherever `stylizer` runs: the file
    does not depend on it, and `stylizer` is left as it was."""
    onnx = need("onnx")
    need("onnxscript")  # torch.onnx.export's exporter

    if seeds < 1:
        raise StyleforgeError("--seeds must be at least 1")
    generator = copy.deepcopy(stylizer.net.generator).float().cpu().eval()
    side = EXAMPLE_SIDE * stylizer.config.model.size_multiple
    image = torch.rand(2, 3, side, side + stylizer.config.model.size_multiple) * 2 - 1
    batch = torch.export.Dim("batch")
    image_axes = {0: batch, 2: torch.export.Dim.DYNAMIC, 3: torch.export.Dim.DYNAMIC}
    if baked_code is None:
        module: nn.Module = _CodeInput(generator)
        args: tuple[torch.Tensor, ...] = (image, torch.zeros(2, stylizer.config.model.code_dim))
        names, shapes = ["image", "code"], (image_axes, {0: batch})
    else:
        module = _BakedCode(generator, baked_code.float().cpu())
        args, names, shapes = (image,), ["image"], (image_axes,)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), _quiet_exporter():
        warnings.simplefilter("ignore")
        raw = Path(tmp) / "model.onnx"
        torch.onnx.export(
            module.eval(),
            args,
            str(raw),
            input_names=names,
            output_names=["stylized"],
            dynamic_shapes=shapes,
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
        )
        model = onnx.load(str(raw))
    meta = {CONFIG_KEY: stylizer.config.to_json()}
    if baked_code is None:
        meta[CODES_KEY] = json.dumps(code_table(stylizer, seeds, noise_scale))
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.doc_string = "styleforge generator: image in [-1, 1], (N, 3, H, W), H and W " + (
        f"multiples of {stylizer.config.model.size_multiple}"
    )
    atomic_write_bytes(path, model.SerializeToString())
    log.debug("wrote %s", path)

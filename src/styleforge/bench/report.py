"""Benchmark rows as a Markdown table (for people and docs) or JSON (for machines)."""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from typing import Any

import torch

from styleforge.device import available_cores, describe
from styleforge.inference.fastpath import cpu_has_bf16


def machine(device: torch.device | None = None) -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "device": describe(device or torch.device("cpu")),
        "cpu": platform.processor() or platform.machine(),
        "cores": available_cores(),
        "threads": torch.get_num_threads(),
        "native_bf16": cpu_has_bf16(),
        "torch": torch.__version__,
    }


def to_json(kind: str, rows: Sequence[Any], device: torch.device | None = None) -> str:
    return json.dumps(
        {"kind": kind, "machine": machine(device), "rows": [r.as_dict() for r in rows]}, indent=2
    )


COLUMNS: dict[str, tuple[str, str]] = {
    # field: (header, format)
    "preset": ("preset", "{}"),
    "size": ("size", "{0}²"),
    "frame": ("frame", "{}"),
    "frames": ("frames", "{}"),
    "image": ("image", "{}"),
    "backend": ("backend", "{}"),
    "mode": ("mode", "{}"),
    "content_loss": ("content loss", "{}"),
    "batch_size": ("batch", "{}"),
    "stabilize": ("stabilize", "{}"),
    "crop_size": ("crop", "{0}²"),
    "gmacs": ("G MACs", "{:.2f}"),
    "params_m": ("params (M)", "{:.2f}"),
    "median_ms": ("median ms", "{:.1f}"),
    "images_per_s": ("img/s", "{:.2f}"),
    "iterations_per_s": ("it/s", "{:.2f}"),
    "fps": ("fps", "{:.2f}"),
    "ms_per_frame": ("ms/frame", "{:.1f}"),
    "generator_ms_per_frame": ("G ms/frame", "{:.1f}"),
    "floor_ms_per_frame": ("floor ms/frame", "{:.1f}"),
    "vs_generator": ("video ÷ G", "{:.2f}"),
    "peak_rss_mib": ("peak RSS MiB", "{:.0f}"),
    "runs": ("runs", "{}"),
    "vs_resnet9_fp32": ("× resnet9 fp32", "{:.1f}×"),
    "vs_untiled": ("× untiled time", "{:.2f}×"),
}


def to_markdown(rows: Sequence[Any]) -> str:
    """A Markdown table of the rows' fields, in COLUMNS order."""
    if not rows:
        return "(no rows)"
    fields = [f for f in COLUMNS if f in rows[0].as_dict()]
    lines = [
        "| " + " | ".join(COLUMNS[f][0] for f in fields) + " |",
        "|" + "|".join("---" for _ in fields) + "|",
    ]
    for row in rows:
        values = row.as_dict()
        cells = ["–" if values[f] is None else COLUMNS[f][1].format(values[f]) for f in fields]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

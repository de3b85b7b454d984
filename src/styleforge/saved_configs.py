"""Saved configs read as they were trained, across versions of styleforge.

A run folder or model file carries the TrainConfig it was trained with. Keys added since take
the value that reproduces the old behaviour (their defaults changed); keys removed since are
dropped, with a warning, or refused where the result would not be what was trained.
"""

from __future__ import annotations

import logging
from typing import Any

from styleforge.errors import StyleforgeError

log = logging.getLogger(__name__)

# What a saved config meant before these keys existed (their defaults have changed since):
# a model or run saved then goes on as it was trained.
BEFORE_KEY_EXISTED = {
    "model": {
        "disc_input": "rgb",
        "stats_transfer": False,
        "detail_radius": 0,
        "output_filter": False,
    },
}

ANY = object()  # a removed key whose value never mattered once the others are off

# Options deleted after they lost (docs/research-log.md has each one's figures), with the value
# at which each changed nothing. A saved config holding that value loads with a warning. Another
# value cannot be reproduced: for the generator's shape that is an error; for a training-only
# term the model still loads (its weights are what they are) but its run cannot be resumed.
REMOVED_KEYS: dict[str, dict[str, Any]] = {
    "model": {"disc_scales": 1, "tone_path": False, "affine_bins": 1, "ink": False},
    "optim": {
        "lambda_color": 0.0,
        "lambda_color_end": None,
        "color_pool": ANY,
        "luma_pool": ANY,
        "color_anchor": ANY,
        "lambda_stats": 0.0,
        "lambda_patch": 0.0,
        "progressive": "",
    },
}
TRAINING_ONLY_SECTIONS = ("optim",)

# Keys renamed since (one spelling, British, in flags and code): old name -> new name
RENAMED_KEYS = {"data": {"color_jitter": "colour_jitter"}}
# DiffAugment's colour part was spelt "color" in `diffaug_policy` before the rename
RENAMED_POLICY_PARTS = {"color": "colour"}


def upgrade_saved(raw: dict[str, Any], resuming: bool = False) -> dict[str, Any]:
    """A copy of a saved config's mapping in today's keys (the caller's dict is not changed)."""
    filled = {key: dict(value) if isinstance(value, dict) else value for key, value in raw.items()}
    for section, keys in BEFORE_KEY_EXISTED.items():
        if isinstance(filled.get(section), dict):
            for key, value in keys.items():
                filled[section].setdefault(key, value)
    for section, names in RENAMED_KEYS.items():
        values = filled.get(section)
        if isinstance(values, dict):
            for old, new in names.items():
                if old in values:
                    values.setdefault(new, values.pop(old))
    optim = filled.get("optim")
    if isinstance(optim, dict) and isinstance(optim.get("diffaug_policy"), str):
        parts = [p.strip() for p in optim["diffaug_policy"].split(",")]
        optim["diffaug_policy"] = ",".join(RENAMED_POLICY_PARTS.get(p, p) for p in parts)
    drop_removed_keys(filled, resuming)
    return filled


def renamed_hint(section: str, key: str) -> str:
    """' (now NEW)' for a key renamed since, '' otherwise: for the unknown-key error."""
    new = RENAMED_KEYS.get(section, {}).get(key)
    return f" (now {section}.{new})" if new else ""


def drop_removed_keys(saved: dict[str, Any], resuming: bool) -> None:
    """Remove REMOVED_KEYS from a saved config in place: a warning for each that changed
    nothing, StyleforgeError for one that shaped the generator (or any, when `resuming`)."""
    for section, keys in REMOVED_KEYS.items():
        values = saved.get(section)
        if not isinstance(values, dict):
            continue
        for key, inert in keys.items():
            if key not in values:
                continue
            value = values.pop(key)
            if inert is ANY or value == inert:
                log.warning("%s.%s is no longer an option; ignored (it was off)", section, key)
            elif resuming or section not in TRAINING_ONLY_SECTIONS:
                what = "run cannot go on" if resuming else "model cannot be built"
                raise StyleforgeError(
                    f"{section}.{key} = {value!r} was removed from styleforge (see"
                    f" docs/research-log.md); this {what} as it was trained"
                )
            else:
                log.warning(
                    "%s.%s = %r is no longer an option; the model loads (it only shaped training)",
                    section,
                    key,
                    value,
                )

"""Command-line options generated from the training config's declared fields.

Every `option(...)` field of TrainConfig's sections becomes a flag (`crop_size` ->
`--crop-size`) with its type, choices and help, and its default printed from the dataclass, so
the help cannot drift from the code. A flag left out stays None: the config file's or the
preset's value is kept. Fields marked advanced are listed by `--help-all` only.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from styleforge.config import DataConfig, ModelConfig, OptimConfig, TrainConfig, flag_of
from styleforge.options import base_type, default_of, fields_with_types, info_of

# (help group title, TrainConfig attribute holding the section or None for the top level, class)
SECTIONS: tuple[tuple[str, str | None, type], ...] = (
    ("data", "data", DataConfig),
    ("run", None, TrainConfig),
    ("networks", "model", ModelConfig),
    ("losses and optimiser", "optim", OptimConfig),
)


METAVARS = {int: "N", float: "X"}


def config_fields() -> Iterator[tuple[str, str | None, dataclasses.Field, Any]]:
    """(group title, section attribute, field, type) of every field the command line sets."""
    for title, section, cls in SECTIONS:
        for field, annotation in fields_with_types(cls):
            if info_of(field).cli:
                yield title, section, field, annotation


def default_text(field: dataclasses.Field) -> str | None:
    """How the help shows a field's default: on/off, a number, a word; None for no default."""
    info = info_of(field)
    if info.default_text is not None:
        return info.default_text
    value = default_of(field)
    if value is None:
        return None
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def add_config_options(
    parser: argparse.ArgumentParser,
    groups: dict[str, Any],
    show_all: bool,
) -> int:
    """Add a flag per config field to `groups` (title -> argument group, made on demand);
    returns how many advanced flags were hidden."""
    hidden = 0
    for title, _, field, annotation in config_fields():
        info = info_of(field)
        group = groups.get(title) or groups.setdefault(title, parser.add_argument_group(title))
        shown = info.help
        default = default_text(field)
        if default is not None:
            shown += f" (default {default})"
        if info.advanced and not show_all:
            shown, hidden = argparse.SUPPRESS, hidden + 1
        kind, _ = base_type(annotation)
        kwargs: dict[str, Any] = {"dest": field.name, "default": None, "help": shown}
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = kind
            kwargs["metavar"] = info.metavar or METAVARS.get(kind, "TEXT")
            if info.choices is not None:
                kwargs["choices"] = info.choices
                kwargs["metavar"] = "{" + ",".join(info.choices) + "}"
        group.add_argument(flag_of(field.name), **kwargs)
    return hidden


def apply_config_options(
    args: argparse.Namespace, config: TrainConfig, skip: Callable[[str], bool]
) -> None:
    """Set every config field whose flag was given (and `skip` does not name) on `config`."""
    for _, section, field, _ in config_fields():
        value = getattr(args, field.name)
        if value is not None and not skip(field.name):
            setattr(getattr(config, section) if section else config, field.name, value)


class HelpAll(argparse.Action):
    """`--help-all`: the help with every option, the advanced ones too."""

    def __init__(self, option_strings: list[str], full_help: Callable[[], str], **kwargs: Any):
        super().__init__(option_strings, nargs=0, default=argparse.SUPPRESS, **kwargs)
        self.full_help = full_help

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(self.full_help())
        parser.exit()

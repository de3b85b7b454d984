"""Shared pieces of the command line: the one-line-error parser, `--device` and list options."""

from __future__ import annotations

import argparse
from typing import Any

from styleforge.device import DEVICE_HELP
from styleforge.errors import StyleforgeError


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def add_device_option(parser: Any, runs_there: str) -> None:
    """`--device` on a parser or argument group, with `train`'s names, default and help
    (`device.DEVICE_HELP`) plus what this command runs there: declared once, so the commands
    cannot drift apart."""
    parser.add_argument(
        "--device",
        default="auto",
        metavar="DEVICE",
        help=f"{DEVICE_HELP} (default auto): {runs_there}",
    )


def comma_list(text: str, kind: type) -> list:
    """`a,b,c` as a list of `kind` (positive where ints), with a one-line error otherwise."""
    try:
        values = [kind(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise StyleforgeError(f"expected a comma-separated list, got {text!r}") from None
    if not values or (kind is int and min(values) < 1):
        raise StyleforgeError(f"expected a comma-separated list of positive values, got {text!r}")
    return values

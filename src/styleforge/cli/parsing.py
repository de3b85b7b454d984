"""Shared pieces of the command line: the one-line-error parser and list options."""

from __future__ import annotations

import argparse

from styleforge.errors import StyleforgeError


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """`--device`, worded once for the commands that take it as a flag (`device.pick_device`)."""
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA when present; default), cpu, cuda or cuda:N"
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

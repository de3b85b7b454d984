"""The `styleforge` command: parse options, call the library, print results. No logic here.

Errors a user can cause print one line, `error: ...`; exit 2 for usage errors, 1 for failures.
"""

from __future__ import annotations

import argparse
import logging
import sys

from styleforge import __version__
from styleforge.cli.bench import add_bench
from styleforge.cli.demo import add_demo
from styleforge.cli.evaluate import add_data, add_evaluate
from styleforge.cli.parsing import Parser
from styleforge.cli.serve import add_serve
from styleforge.cli.stylize import add_export, add_stylize
from styleforge.cli.train import add_train
from styleforge.errors import StyleforgeError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="styleforge",
        description="Learn the style of an image collection with a GAN and carry it onto photos.",
    )
    parser.add_argument("--version", action="version", version=f"styleforge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="show warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    add_train(sub)
    add_stylize(sub)
    add_demo(sub)
    add_data(sub)
    add_evaluate(sub)
    add_export(sub)
    add_bench(sub)
    add_serve(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except StyleforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130

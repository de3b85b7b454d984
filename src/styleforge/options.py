"""Options declared once: a dataclass field carries its default, help, choices and bounds.

The training config's dataclasses declare every option with `option(...)`; the command line
(`cli/options_from_config.py`) and YAML configs are both read through what is declared here, so
a flag's help, its default and a YAML file's type check cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from styleforge.errors import StyleforgeError

META_KEY = "styleforge"


@dataclass(frozen=True)
class OptionInfo:
    """What the command line and the checks need to know about one field."""

    help: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None  # values below are refused
    metavar: str | None = None
    cli: bool = True  # False: config files only (internal or rarely useful)
    advanced: bool = False  # shown by `--help-all`, not `--help`
    default_text: str | None = None  # how the help shows the default, when not its value


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    factory: Callable[[], Any] | None = None,
    **info: Any,
) -> Any:
    """A dataclass field with its help and checks (see OptionInfo for the keywords)."""
    meta = {META_KEY: OptionInfo(help=help, **info)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def info_of(field: dataclasses.Field) -> OptionInfo:
    return field.metadata.get(META_KEY) or OptionInfo(help="", cli=False)


def fields_with_types(cls: type) -> Iterator[tuple[dataclasses.Field, Any]]:
    """Each field of a dataclass with its resolved type annotation."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        yield field, hints[field.name]


def default_of(field: dataclasses.Field) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def base_type(annotation: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed): `float | None` -> (float, True)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def coerce(value: Any, annotation: Any, where: str) -> Any:
    """`value` read from a config file as the declared type, or StyleforgeError in one line.

    YAML reads `2e-4` as a string (YAML 1.1 wants a dot in a float), so a string that spells a
    number is taken as one for a float field; anything else of the wrong kind is refused."""
    kind, optional = base_type(annotation)
    if value is None:
        if optional:
            return None
        raise StyleforgeError(f"config key {where} must not be empty")
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif kind is str:
        if isinstance(value, str):
            return value
    elif typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        if isinstance(value, list):
            return [coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    else:  # a type this reader does not know: taken as it is
        return value
    name = "a list" if typing.get_origin(kind) is list else _TYPE_NAMES.get(kind, str(kind))
    raise StyleforgeError(f"config key {where} must be {name}, got {value!r}")


_TYPE_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def check_declared(obj: Any, flag: Callable[[str], str]) -> None:
    """Refuse values outside a field's declared choices or below its minimum, in one line
    naming the option as `flag(field name)` spells it."""
    for field in dataclasses.fields(obj):
        info, value = info_of(field), getattr(obj, field.name)
        if value is None:
            continue
        if info.choices is not None and value not in info.choices:
            raise StyleforgeError(
                f"{flag(field.name)} must be one of {', '.join(info.choices)}; got {value!r}"
            )
        if info.minimum is not None and value < info.minimum:
            least = int(info.minimum) if float(info.minimum).is_integer() else info.minimum
            raise StyleforgeError(f"{flag(field.name)} must be >= {least}, got {value}")

"""styleforge: learn the style of an image collection with a GAN and carry it onto any photo."""

from importlib import import_module
from typing import TYPE_CHECKING

from styleforge.errors import StyleforgeError

if TYPE_CHECKING:  # what the names below are, for type checkers and editors
    from styleforge.config import TrainConfig
    from styleforge.inference.stylizer import Stylizer
    from styleforge.training.api import resume, train
    from styleforge.training.run_report import TrainProgress, TrainResult

__version__ = "0.1.0"
__all__ = [
    "Stylizer",
    "StyleforgeError",
    "TrainConfig",
    "TrainProgress",
    "TrainResult",
    "__version__",
    "resume",
    "train",
]

# Imported on first use: they pull in torch, and `styleforge --help` should stay quick.
_LAZY = {
    "Stylizer": "styleforge.inference.stylizer",
    "TrainConfig": "styleforge.config",
    "TrainProgress": "styleforge.training.run_report",
    "TrainResult": "styleforge.training.run_report",
    "resume": "styleforge.training.api",
    "train": "styleforge.training.api",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'styleforge' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})

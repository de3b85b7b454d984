"""The optional parts of styleforge and the pip extra that installs each.

`pip install styleforge` trains, stylizes and evaluates; serving, video and ONNX need more
packages. A command whose extra is missing stops with one line naming the `pip install` to
run, instead of an ImportError traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from styleforge.errors import StyleforgeError

# module -> (extra that installs it, what needs it)
OPTIONAL: dict[str, tuple[str, str]] = {
    "fastapi": ("serve", "styleforge serve"),
    "uvicorn": ("serve", "styleforge serve"),
    "python_multipart": ("serve", "styleforge serve"),
    "av": ("video", "stylizing videos"),
    "onnx": ("onnx", "ONNX export"),
    "onnxscript": ("onnx", "ONNX export"),
    "onnxruntime": ("onnx", "running .onnx models"),
}


def need(module: str) -> ModuleType:
    """Import an optional `module`, or stop with one line saying which extra installs it."""
    extra, feature = OPTIONAL[module]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise StyleforgeError(
            f"{feature} needs {module}, which is not installed: pip install 'styleforge[{extra}]'"
        ) from None

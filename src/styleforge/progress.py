"""Progress bars that log lines do not break: every bar styleforge shows comes from here.

While a bar is shown, the root logger's console handlers write through `tqdm.write`
(`tqdm.contrib.logging.logging_redirect_tqdm`), and Python warnings (torch's, PIL's) go
through logging as `logging.captureWarnings` sends them, so a warning arrives as a line of its
own above the bar instead of being printed over it. Bars are drawn on a terminal only
(`disable=None`), as for every other tqdm bar of the project.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm


@contextmanager
def progress_bar(iterable: Iterable[Any] | None = None, **options: Any) -> Iterator[tqdm]:
    """A tqdm bar (closed on exit) with log records and warnings routed above it.

    `options` are tqdm's; `disable` defaults to None: no bar when stderr is not a terminal."""
    options.setdefault("disable", None)
    with logging_redirect_tqdm(), warnings.catch_warnings():
        warnings.showwarning = _log_warning  # restored by catch_warnings on exit
        bar = tqdm(iterable, **options)
        try:
            yield bar
        finally:
            bar.close()


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """What `logging.captureWarnings(True)` does with a warning, for the bar's lifetime only."""
    text = warnings.formatwarning(message, category, filename, lineno, line)
    logging.getLogger("py.warnings").warning("%s", text.rstrip())

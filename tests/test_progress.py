"""Progress bars: a warning logged or raised while a bar is shown is a line of its own."""

from __future__ import annotations

import logging
import warnings

from tqdm import tqdm

from conftest import console, shown_lines
from styleforge.progress import progress_bar


def test_warnings_during_a_bar_arrive_as_their_own_lines() -> None:
    with console() as stderr, progress_bar(total=3, desc="working") as bar:
        bar.update(1)
        logging.getLogger("styleforge.test").warning("disk nearly full")
        warnings.warn("an old option", UserWarning, stacklevel=1)
        bar.update(2)
    lines = shown_lines(stderr.getvalue())
    assert "WARNING: disk nearly full" in lines
    assert any(line.startswith("WARNING: ") and line.endswith("an old option") for line in lines)
    assert any(line.startswith("working: 100%") for line in lines)  # the bar itself was drawn


def test_without_the_redirect_the_warning_lands_on_the_bar_line() -> None:
    """The check above can fail: a plain tqdm bar gets the warning appended to its line."""
    with console() as stderr:
        bar = tqdm(total=3, desc="working")
        bar.update(1)
        logging.getLogger("styleforge.test").warning("disk nearly full")
        bar.close()
    assert "WARNING: disk nearly full" not in shown_lines(stderr.getvalue())


def test_no_bar_off_a_terminal_and_logging_and_warnings_are_left_as_they_were(capsys) -> None:
    handlers, show = list(logging.root.handlers), warnings.showwarning
    with progress_bar(total=1, desc="working") as bar:
        bar.update(1)
        assert warnings.showwarning is not show
    assert logging.root.handlers == handlers and warnings.showwarning is show
    assert "working" not in capsys.readouterr().err

"""Progress bars: a warning logged or raised while a bar is shown is a line of its own."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from styleforge.progress import progress_bar


def visible_lines(text: str) -> list[str]:
    """What a terminal shows of each line: the text after its last carriage return."""
    return [line.split("\r")[-1] for line in text.split("\n")]


@contextmanager
def console_logging() -> Iterator[None]:
    """A root handler on stderr as the CLI sets one up (logging.basicConfig). Made in the test
    itself: pytest gives each test phase a stderr of its own."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logging.root.addHandler(handler)
    try:
        yield
    finally:
        logging.root.removeHandler(handler)


def test_warnings_during_a_bar_arrive_as_their_own_lines(capsys) -> None:
    with console_logging(), progress_bar(total=3, desc="working", disable=False) as bar:
        bar.update(1)
        logging.getLogger("styleforge.test").warning("disk nearly full")
        warnings.warn("an old option", UserWarning, stacklevel=1)
        bar.update(2)
    err = capsys.readouterr().err
    lines = visible_lines(err)
    assert "WARNING: disk nearly full" in lines
    assert any(line.startswith("WARNING: ") and line.endswith("an old option") for line in lines)
    assert "working" in err and "3/3" in err  # the bar itself was drawn


def test_without_the_redirect_the_warning_lands_on_the_bar_line(capsys) -> None:
    """The check above can fail: a plain tqdm bar gets the warning appended to its line."""
    with console_logging():
        bar = tqdm(total=3, desc="working", disable=False)
        bar.update(1)
        logging.getLogger("styleforge.test").warning("disk nearly full")
        bar.close()
    assert "WARNING: disk nearly full" not in visible_lines(capsys.readouterr().err)


def test_the_bar_leaves_logging_and_warnings_as_they_were() -> None:
    handlers, show = list(logging.root.handlers), warnings.showwarning
    with progress_bar(total=1, disable=True):
        assert warnings.showwarning is not show
    assert logging.root.handlers == handlers and warnings.showwarning is show

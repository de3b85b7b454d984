"""`prefetch`: order kept, one item ahead at most, errors raised in the caller, early close
stops the worker (and a nested stage's worker)."""

from __future__ import annotations

import threading

import pytest

from styleforge.inference.prefetch import prefetch


def test_keeps_order_and_runs_on_another_thread() -> None:
    threads = set()

    def items():
        for i in range(7):
            threads.add(threading.current_thread())
            yield i

    assert list(prefetch(items())) == list(range(7))
    assert threading.current_thread() not in threads


def test_produces_at_most_one_item_ahead() -> None:
    produced: list[int] = []
    ahead: list[int] = []

    def items():
        for i in range(6):
            produced.append(i)
            yield i

    for i in prefetch(items()):
        threading.Event().wait(0.02)  # time for the worker to run ahead if it could
        ahead.append(len(produced) - 1 - i)
    assert max(ahead) <= 1


def test_worker_error_is_raised_unchanged_in_the_caller() -> None:
    class Broken(ValueError):
        pass

    def items():
        yield 1
        raise Broken("bad frame")

    got = []
    with pytest.raises(Broken, match="bad frame"):
        for item in prefetch(items()):
            got.append(item)
    assert got == [1]


def test_closing_early_stops_the_workers_and_cleans_up() -> None:
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    before = threading.active_count()
    stages = prefetch(x * 2 for x in prefetch(endless()))  # two stages, as the video path has
    assert [next(stages) for _ in range(3)] == [0, 2, 4]
    stages.close()
    assert closed.is_set() and threading.active_count() == before

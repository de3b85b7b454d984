"""Run an iterator one item ahead on a worker thread, so producing and using items overlap.

The video path chains two of these (decode, then render) in front of the encoder: PyAV and
PyTorch release the GIL in their work, so the stages run side by side. At most one item is
produced ahead of the one the caller holds, so memory stays bounded by two items per stage.
An exception in the worker is raised again, unchanged, where the caller asks for the next item;
closing the iterator early (an error downstream, Ctrl-C) stops and joins the worker.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()
_POLL_S = 0.05  # how often a blocked worker looks whether it has been stopped


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetch(items: Iterable[T], name: str = "prefetch") -> Iterator[T]:
    """Yield `items` in order, each produced on a worker thread while the caller uses the one
    before. Close the returned generator (or exhaust it) before freeing what `items` reads."""
    handoff: queue.Queue = queue.Queue()
    permits = threading.Semaphore(1)  # one item may be produced beyond the caller's
    stop = threading.Event()
    worker = threading.Thread(
        target=_produce, args=(iter(items), handoff, permits, stop), name=name, daemon=True
    )
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            permits.release()  # the worker may start on the next item while this one is used
            yield item
    finally:
        stop.set()
        worker.join()


def _produce(
    items: Iterator, handoff: queue.Queue, permits: threading.Semaphore, stop: threading.Event
) -> None:
    try:
        while True:
            while not permits.acquire(timeout=_POLL_S):
                if stop.is_set():
                    return
            if stop.is_set():
                return
            try:
                item = next(items)
            except StopIteration:
                handoff.put(_END)
                return
            handoff.put(item)
    except BaseException as exc:  # handed to the caller's thread, raised there
        handoff.put(_Failure(exc))
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()  # a generator's own clean-up (e.g. a nested prefetch) runs here

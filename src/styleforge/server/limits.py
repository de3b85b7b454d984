"""What one request may cost, and a worker pool that queues instead of exhausting memory.

Stylizing is CPU/GPU-bound and its memory grows with the image, so the server runs it on a
fixed number of worker threads and admits at most `workers + queue` requests at once; the next
one is refused at once with 503 rather than piling up. A request has a time limit counted from
admission (queue wait included: that is what the client waits). Python threads cannot be
killed, so a job over its limit stops at its next check (between images) and keeps its slot
until then: memory stays bounded even when clients give up.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-request limits and the pool's size (the `serve` options)."""

    max_upload_bytes: int = 25 * MB  # whole request body: photo plus reference image
    max_pixels: int = 25_000_000  # per decoded image; checked before decoding
    timeout_s: float = 120.0  # queue wait plus work
    workers: int = 1  # concurrent stylizations (one saturates a CPU's cores)
    queue: int = 16  # admitted requests waiting for a worker
    max_variants: int = 8  # noise variants per request


class ServerBusyError(Exception):
    """Every worker is busy and the queue is full."""


class RequestTimeoutError(Exception):
    """A request ran past its time limit."""


class Deadline:
    """When a request's time is up; jobs call `check()` between steps to stop early."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise RequestTimeoutError(f"the request took longer than {self.seconds:g} s")


class WorkerPool:
    """Runs blocking jobs on `workers` threads with at most `workers + queue` admitted."""

    def __init__(self, workers: int, queue: int) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("workers must be >= 1 and queue >= 0")
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="styleforge-worker")
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._admitted = 0
        self._count_lock = threading.Lock()

    @property
    def admitted(self) -> int:
        """Requests running or waiting now."""
        return self._admitted

    @property
    def full(self) -> bool:
        """No room for another request now."""
        return self._admitted >= self.capacity

    async def run(self, job: Callable[[Deadline], T], timeout_s: float) -> T:
        """Run `job(deadline)` on a worker; ServerBusyError when full, RequestTimeoutError
        when it runs past `timeout_s` (the job itself stops at its next deadline check)."""
        if not self._slots.acquire(blocking=False):
            raise ServerBusyError
        self._count(+1)
        deadline = Deadline(timeout_s)
        try:
            future = self._executor.submit(job, deadline)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)
        except TimeoutError:
            raise RequestTimeoutError(f"the request took longer than {timeout_s:g} s") from None

    def _count(self, delta: int) -> None:
        with self._count_lock:
            self._admitted += delta

    def _release(self) -> None:
        self._count(-1)
        self._slots.release()

    def shutdown(self) -> None:
        """Stop taking jobs; queued ones are cancelled, running ones finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)

"""Models the server offers: every `model.safetensors` below one folder, loaded lazily.

A model's public name is its folder relative to the root (`runs/toon/model.safetensors` under
`--models runs` is `toon`). Requests name models only through this table, so nothing a client
sends becomes a path. The table is rescanned on every listing and when a name is missing (at
most once a second), so a run trained after the server started appears without a restart.
Loaded models sit in a small LRU cache keyed by name and file time: a retrained model replaces
its stale copy on the next request.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from styleforge.device import pick_device
from styleforge.errors import ModelFileError, StyleforgeError
from styleforge.inference.stylizer import Stylizer
from styleforge.modelfile import read_model_config
from styleforge.run_folder import MODEL_NAME

log = logging.getLogger(__name__)


class UnknownModelError(StyleforgeError):
    """A model name that is not among those found under the models folder."""


@dataclass(frozen=True)
class ModelEntry:
    """One model file: what listings show, read from its header without the weights."""

    name: str
    path: Path
    styles: tuple[str, ...]
    mtime_ns: int


@dataclass
class LoadedModel:
    """A loaded stylizer and the lock that runs one image at a time through it.

    Tiled inference swaps the network's norm layers while it runs, so two threads must not
    share one network at once; different models still run in parallel."""

    stylizer: Stylizer
    lock: threading.Lock = field(default_factory=threading.Lock)


def discover(root: Path, known: dict[str, ModelEntry] | None = None) -> dict[str, ModelEntry]:
    """Every readable model file below `root`, by name; unreadable ones are logged and skipped.

    Entries in `known` whose file is unchanged are reused instead of re-reading headers."""
    known = known or {}
    found: dict[str, ModelEntry] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if MODEL_NAME not in filenames:
            continue
        path = Path(dirpath) / MODEL_NAME
        relative = Path(dirpath).relative_to(root).as_posix()
        name = root.resolve().name if relative == "." else relative
        try:
            mtime_ns = path.stat().st_mtime_ns
            old = known.get(name)
            if old is not None and old.path == path and old.mtime_ns == mtime_ns:
                found[name] = old
                continue
            styles = tuple(read_model_config(path).model.styles)
        except (OSError, ModelFileError) as exc:
            log.warning("skipping %s: %s", path, exc)
            continue
        found[name] = ModelEntry(name, path, styles, mtime_ns)
    return found


class ModelRegistry:
    """The models under one folder, with a bounded LRU cache of loaded ones."""

    def __init__(
        self,
        root: Path,
        device: str = "auto",
        cache_size: int = 2,
        tile: int = 1024,
        rescan_s: float = 1.0,
    ) -> None:
        """`rescan_s`: unknown names rescan the folder at most this often. The device is
        resolved here, so a bad `--device` stops the server at start, not its first request."""
        if not root.is_dir():
            raise StyleforgeError(f"--models folder {root} does not exist or is not a folder")
        if cache_size < 1:
            raise StyleforgeError("--cache must be at least 1")
        self.root = root
        self.device = str(pick_device(device))
        self.cache_size = cache_size
        self.tile = tile
        self.rescan_s = rescan_s
        self._entries: dict[str, ModelEntry] = {}
        self._scanned_at = 0.0
        self._cache: OrderedDict[tuple[str, int], LoadedModel] = OrderedDict()
        self._lock = threading.Lock()  # guards _entries and _cache
        self._load_lock = threading.Lock()  # one load at a time: bounded memory while loading
        self.refresh()

    def refresh(self) -> list[ModelEntry]:
        """Rescan the folder; returns the entries sorted by name."""
        with self._lock:
            self._entries = discover(self.root, self._entries)
            self._scanned_at = time.monotonic()
            return sorted(self._entries.values(), key=lambda e: e.name)

    def known(self) -> list[ModelEntry]:
        """The entries of the last scan, without rescanning."""
        return list(self._entries.values())

    def entry(self, name: str | None) -> ModelEntry:
        """The named model, current with its file; None is fine when there is one model.

        A missing name rescans (at most every `rescan_s`); a known one whose file changed or
        vanished rescans at once, so a retrained model is what the next request gets."""
        entries = self._entries
        if name is None:
            if len(entries) != 1:
                entries = {e.name: e for e in self.refresh()}
            if len(entries) == 1:
                return next(iter(entries.values()))
            raise UnknownModelError(f"give a model; {_available(entries)}")
        stale = name in entries and not _unchanged(entries[name])
        if stale or (name not in entries and time.monotonic() - self._scanned_at >= self.rescan_s):
            entries = {e.name: e for e in self.refresh()}
        if name not in entries:
            raise UnknownModelError(f"unknown model {name!r}; {_available(entries)}")
        return entries[name]

    def load(self, entry: ModelEntry) -> LoadedModel:
        """The loaded model for `entry`, from the cache or the file (least recently used goes)."""
        key = (entry.name, entry.mtime_ns)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        with self._load_lock:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            log.info("loading model %s from %s", entry.name, entry.path)
            loaded = LoadedModel(Stylizer.load(entry.path, self.device, tile=self.tile))
            with self._lock:
                for stale in [k for k in self._cache if k[0] == entry.name]:
                    del self._cache[stale]
                self._cache[key] = loaded
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            return loaded

    def cached_names(self) -> list[str]:
        """Names of the models now in memory, least recently used first."""
        with self._lock:
            return [name for name, _ in self._cache]


def _unchanged(entry: ModelEntry) -> bool:
    try:
        return entry.path.stat().st_mtime_ns == entry.mtime_ns
    except OSError:
        return False


def _available(entries: dict[str, ModelEntry]) -> str:
    if not entries:
        return "no models were found under the server's --models folder"
    return "available: " + ", ".join(sorted(entries))

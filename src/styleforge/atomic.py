"""Atomic file writes: a crash or a full disk leaves either the old file or the new one."""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from pathlib import Path

from styleforge.errors import StyleforgeError

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".tmp"


class WriteError(StyleforgeError, OSError):
    """A write that failed (disk full, read-only or missing folder); the old file is intact.

    An OSError too, so callers that skip one failed output and go on keep working."""

    def __init__(self, path: Path, exc: OSError):
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ENOSPC:
            reason = "no space left on the device"
        elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            reason = f"{reason} (read-only or not writable)"
        self.message = f"cannot write {path}: {reason}; any earlier {path.name} is unchanged"
        StyleforgeError.__init__(self, self.message)
        self.errno = exc.errno
        self.strerror = reason
        self.filename = str(path)
        self.path = path

    def __str__(self) -> str:
        return self.message


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Replace `path` with `payload`: write a temp file beside it, fsync, rename, fsync folder.

    On any failure the temp file is removed, `path` keeps its old content and a `WriteError`
    (a StyleforgeError and an OSError) names the file and the reason."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise WriteError(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise WriteError(path, exc) from None
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:  # the rename happened; only its durability is in doubt
        log.debug("could not fsync %s: %s", path.parent, exc)


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temp files a killed `atomic_write_bytes` left in `folder` (not recursive).

    Only names of the form `.NAME.XXXX.tmp` are touched; call it when no writer is running."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if name.startswith(".") and name.endswith(TEMP_SUFFIX) and name.count(".") >= 3:
            try:
                if entry.is_file() and not entry.is_symlink():
                    entry.unlink()
                    removed.append(entry)
            except OSError as exc:
                log.warning("could not remove stale temp file %s: %s", entry, exc)
    return removed

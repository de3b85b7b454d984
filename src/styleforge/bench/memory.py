"""Peak resident memory of this process, resettable between benchmark cases (Linux).

Writing 5 to /proc/self/clear_refs resets the kernel's high-water mark (VmHWM); freed heap is
first handed back with malloc_trim, so one case's peak does not include the one before. Where
either is missing, the peak is the process's peak so far (getrusage), which only grows.
"""

from __future__ import annotations

import ctypes
import gc
import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR = Path("/proc/self/clear_refs")


def reset_peak() -> bool:
    """Start a new peak from the current RSS; False where the OS does not allow it."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        _CLEAR.write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    """Peak RSS in MiB since the last successful `reset_peak` (or since the process started)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024

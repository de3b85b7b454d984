"""Atomic writes: a failed write (disk full, read-only) leaves the old file and no temp file."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from conftest import fail_os_call, temp_files
from styleforge.atomic import WriteError, atomic_write_bytes
from styleforge.errors import StyleforgeError


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_run_folder(tmp_path: Path) -> None:
    target = tmp_path / "ro" / "model.safetensors"
    atomic_write_bytes(target, b"old")
    target.parent.chmod(0o555)
    try:
        with pytest.raises(WriteError, match="not writable"):
            atomic_write_bytes(target, b"new")
    finally:
        target.parent.chmod(0o755)
    assert target.read_bytes() == b"old"


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.png"
    atomic_write_bytes(target, b"old")
    fail_os_call(monkeypatch, "replace")
    with pytest.raises(WriteError) as info:
        atomic_write_bytes(target, b"new")
    assert isinstance(info.value, OSError) and isinstance(info.value, StyleforgeError)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old" and temp_files(tmp_path) == []
    with pytest.raises(WriteError, match="cannot write"):
        atomic_write_bytes(tmp_path / "out.png" / "inside.png", b"x")  # parent is a file

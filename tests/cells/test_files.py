"""Atomic writes and cross-process file locks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cells.files import FILE_LOCKS, atomic_path, atomic_write, file_lock


def test_atomic_write_replaces_whole_and_keeps_the_old_file_on_error(tmp_path):
    target = tmp_path / "out.csv"
    atomic_write(target, "old\n")
    assert target.read_text() == "old\n"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half of the new")
            raise RuntimeError("the writer failed")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    atomic_write(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.skipif(not FILE_LOCKS, reason="no flock on this system")
def test_file_lock_excludes_another_process_until_released(tmp_path):
    lock = tmp_path / "item.lock"
    probe = ("import sys; from cells.files import file_lock\n"
             f"with file_lock({str(lock)!r}, wait=False) as held: sys.exit(0 if held else 3)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with file_lock(lock) as held:
        assert held
        assert subprocess.run([sys.executable, "-c", probe], env=env, timeout=60, check=False).returncode == 3
    assert subprocess.run([sys.executable, "-c", probe], env=env, timeout=60, check=False).returncode == 0

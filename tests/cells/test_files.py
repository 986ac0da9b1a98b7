"""Atomic output files, cross-process file locks, the figure-format check and the shared percentage."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cells.errors import GatedseError
from cells.files import FILE_LOCKS, atomic_path, check_figure_path, file_lock, write_text
from cells.units import reduction_pct


def test_write_text_creates_folders_and_leaves_no_temporary(tmp_path):
    path = write_text(tmp_path / "a" / "b.txt", "hello\n")
    assert path.read_text() == "hello\n"
    assert [p.name for p in path.parent.iterdir()] == ["b.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = write_text(tmp_path / "table.csv", "old\n")
    with pytest.raises(RuntimeError), atomic_path(path) as partial:
        assert partial.suffix == ".csv" and partial.parent == path.parent
        partial.write_text("half")
        raise RuntimeError("writer crashed")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_figure_format_check(tmp_path):
    assert check_figure_path(str(tmp_path / "f.SVG"), GatedseError) == tmp_path / "f.SVG"
    with pytest.raises(GatedseError, match=r"f\.gif: unknown figure format \.gif \(use \.png, \.svg, \.pdf\)"):
        check_figure_path(tmp_path / "f.gif", GatedseError)


def test_reduction_pct():
    assert reduction_pct(25.0, 100.0) == 75.0
    assert reduction_pct(150.0, 100.0) == -50.0
    assert reduction_pct(1.0, 0.0) == 0.0


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

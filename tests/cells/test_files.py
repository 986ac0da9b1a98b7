"""Atomic output files, the figure-format check and the shared percentage."""

from __future__ import annotations

import pytest

from cells.errors import GatedseError
from cells.files import atomic_path, check_figure_path, write_text
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

"""Liberty writing: read -> write -> read gives the same library."""

from __future__ import annotations

import subprocess

import pytest

from cells import Library, read_liberty, write_liberty
from tests.conftest import require_tool


def assert_same_library(a: Library, b: Library) -> None:
    assert b.name == a.name
    assert b.voltage == a.voltage
    assert b.temperature == a.temperature
    assert b.units == a.units
    assert b.wire_load == a.wire_load
    assert b.templates == a.templates
    assert list(b.cells) == list(a.cells)
    for name, cell in a.cells.items():
        assert b.cells[name] == cell, name


def round_trip(library: Library, path) -> Library:
    write_liberty(library, path)
    return read_liberty(path)


@pytest.mark.parametrize("suffix", [".lib", ".lib.gz"])
def test_default_library_round_trips(library, tmp_path, suffix):
    assert_same_library(library, round_trip(library, tmp_path / f"default{suffix}"))


def test_gz_suffix_writes_gzip(library, tmp_path):
    write_liberty(library, tmp_path / "default.lib.gz")
    write_liberty(library, tmp_path / "default.lib")
    assert (tmp_path / "default.lib.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "default.lib").read_text().startswith("library (")


def test_full_sky130_round_trips(sky130_full, tmp_path):
    assert_same_library(sky130_full, round_trip(sky130_full, tmp_path / "sky130.lib.gz"))


def test_full_nangate_round_trips(nangate, tmp_path):
    assert_same_library(nangate, round_trip(nangate, tmp_path / "nangate.lib.gz"))


@pytest.mark.tools
def test_yosys_imports_every_cell_of_the_written_library(library, tmp_path):
    yosys = require_tool("yosys")
    path = tmp_path / "default.lib"
    write_liberty(library, path)
    result = subprocess.run([yosys, "-p", f"read_liberty {path}"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"Imported {len(library.cells)} cell types" in result.stdout

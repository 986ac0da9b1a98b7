"""The parsed-library cache: a hit equals a fresh parse and needs neither liberty-parser nor sympy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cells.default import default_library_path, load_library
from cells.liberty_reader import read_liberty

SRC = str(Path(__file__).resolve().parents[2] / "src")


def load_in_fresh_process(cache: Path, library: Path | None = None) -> dict:
    """Load a library in a new interpreter; which heavy modules it imported, and a digest of the library."""
    code = (
        "import json, sys\n"
        "from cells.default import load_library\n"
        f"lib = load_library({str(library)!r} if {library is not None} else None)\n"
        "tables = sorted((n, c.truth_tables) for n, c in lib.cells.items() if c.combinational)\n"
        "print(json.dumps({'parser': 'liberty.parser' in sys.modules, 'sympy': 'sympy' in sys.modules,\n"
        "                  'source': lib.source, 'tables': repr(tables), 'cells': repr(sorted(lib.cells.items()))}))\n"
    )
    env = dict(os.environ, GATEDSE_CACHE_DIR=str(cache), PYTHONPATH=SRC)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_second_load_reads_the_cache_without_parsing(tmp_path):
    first = load_in_fresh_process(tmp_path)
    assert first["parser"] and first["sympy"]
    assert len(list((tmp_path / "liberty").glob("*.pickle"))) == 1
    second = load_in_fresh_process(tmp_path)
    assert not second["parser"] and not second["sympy"]
    assert second["cells"] == first["cells"] and second["tables"] == first["tables"]


def test_cached_library_equals_a_fresh_parse(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEDSE_CACHE_DIR", str(tmp_path))
    load_library()
    cached = load_library()
    parsed = read_liberty(default_library_path())
    assert cached == parsed


def test_changed_content_misses_and_the_source_is_the_path_asked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEDSE_CACHE_DIR", str(tmp_path / "cache"))
    text = default_library_path().read_text()
    copy = tmp_path / "copy.lib"
    copy.write_text(text)
    assert load_library(copy).source == str(copy)
    assert load_library(default_library_path()).source == str(default_library_path())
    changed = tmp_path / "changed.lib"
    changed.write_text(text.replace("area : 3.7536", "area : 4.0000", 1))
    assert "area : 3.7536" in text
    areas = {name: cell.area for name, cell in load_library(changed).cells.items()}
    assert 4.0 in areas.values() and areas != {n: c.area for n, c in load_library(copy).cells.items()}
    assert len(list((tmp_path / "cache" / "liberty").glob("*.pickle"))) == 2


def test_unreadable_cache_file_is_parsed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEDSE_CACHE_DIR", str(tmp_path))
    load_library()
    (pickled,) = (tmp_path / "liberty").glob("*.pickle")
    pickled.write_bytes(b"not a pickle")
    assert load_library() == read_liberty(default_library_path())
    assert pickled.read_bytes() != b"not a pickle"


def test_cached_cells_carry_their_digest(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEDSE_CACHE_DIR", str(tmp_path))
    load_library()
    cached = load_library()
    parsed = read_liberty(default_library_path())
    assert all("digest" in cell.__dict__ for cell in cached.cells.values())
    assert {name: cell.digest for name, cell in cached.cells.items()} == \
        {name: cell.digest for name, cell in parsed.cells.items()}
    assert len({cell.digest for cell in parsed.cells.values()}) == len(parsed.cells)

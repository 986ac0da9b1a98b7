"""The embedded default library: a sky130 high-density subset, typical corner."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from cells.liberty_reader import read_liberty
from cells.model import Library

DEFAULT_LIBRARY_FILE = "sky130_fd_sc_hd__tt_025C_1v80_subset.lib"


def default_library_path() -> Path:
    return Path(str(files("cells") / "data" / DEFAULT_LIBRARY_FILE))


def load_library(path: str | Path | None = None) -> Library:
    """The library at `path`, or the embedded default when `path` is None."""
    return read_liberty(path if path is not None else default_library_path())

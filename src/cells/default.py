"""The embedded default library (a sky130 high-density subset, typical corner), and cached library loading."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from importlib.resources import files
from pathlib import Path

import cells
from cells.cache import cache_root, load_pickle, package_version, source_digest, store_pickle
from cells.errors import LibraryError
from cells.liberty_reader import read_liberty
from cells.model import Library

DEFAULT_LIBRARY_FILE = "sky130_fd_sc_hd__tt_025C_1v80_subset.lib"


def default_library_path() -> Path:
    return Path(str(files("cells") / "data" / DEFAULT_LIBRARY_FILE))


def load_library(path: str | Path | None = None) -> Library:
    """The library at `path`, or the embedded default when `path` is None.

    A parsed library is kept in the user cache folder (`cache_root()/liberty`)
    under the SHA-256 of the file's bytes, the package version and the source
    of `cells`, so every later load of the same content is a pickle read
    instead of a Liberty parse (seconds for a full library).
    """
    path = Path(path) if path is not None else default_library_path()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LibraryError(f"{path}: cannot read: {exc.strerror}") from None
    key = hashlib.sha256(raw)
    key.update(f"\0{package_version()}\0{source_digest(cells)}".encode())
    cached = cache_root() / "liberty" / f"{key.hexdigest()}.pickle"
    library = load_pickle(cached)
    if isinstance(library, Library):
        return replace(library, source=str(path))
    library = read_liberty(path)
    for cell in library.cells.values():
        _precompute(cell)
    store_pickle(cached, library)
    return library


def _precompute(cell) -> None:
    """Compute a cell's digest and truth tables now, so that the pickle holds them: a cached load needs no sympy,
    and a cache keyed on cells (`characterize.timing.delay_cache`) no pass over every table value."""
    _ = cell.digest
    if not cell.combinational:
        return
    try:
        _ = cell.truth_tables
    except LibraryError:  # an unsupported function fails where the cell is used, as without the cache
        pass

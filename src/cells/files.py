"""Writing output files: atomically, so a reader (or a crash) never sees half a file; and the figure formats.

Every output (netlists, LUTs, CSV and JSON exports, figures, caches) goes
through `atomic_path`: written to a temporary file beside the target, flushed
to disk, then renamed over the target in one step. Concurrent writers of the
same file (workers sharing a cache) each use their own temporary file.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from cells.errors import GatedseError

FIGURE_FORMATS = (".png", ".svg", ".pdf")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write `path`'s content to; on leaving the block it replaces `path` (creating folders).

    The temporary name keeps the suffix, so writers that choose the format by
    extension (matplotlib, pandas) behave as with `path`. On an exception the
    temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.partial{path.suffix}")
    try:
        yield partial
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; returns the path."""
    with atomic_path(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(path)


def check_figure_path(path: str | Path, error: type[GatedseError]) -> Path:
    """`path` as a Path when its extension names a figure format we write, else `error` naming the file."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_FORMATS:
        raise error(f"{path}: unknown figure format {path.suffix or '(none)'} (use {', '.join(FIGURE_FORMATS)})")
    return path

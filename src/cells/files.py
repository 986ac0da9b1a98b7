"""Writing output files: atomically, so a reader (or a crash) never sees half a file; and the figure formats.

Every output (netlists, LUTs, CSV and JSON exports, figures, caches) goes
through `atomic_path`: written to a temporary file beside the target, flushed
to disk, then renamed over the target in one step. Concurrent writers of the
same file (workers sharing a cache) each use their own temporary file.

`file_lock` takes flock(2) on a file, for processes that share a file (a
study storage, a sweep cache): the kernel releases it when the holder exits or
is killed, so a crash never leaves a lock behind.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from cells.errors import GatedseError

try:
    import fcntl
except ImportError:  # Windows: no flock; file_lock is then a no-op
    fcntl = None

FILE_LOCKS = fcntl is not None  # whether file_lock excludes other processes here
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


@contextlib.contextmanager
def file_lock(path: str | Path, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on `path` (created if missing) for the block; yields whether it is held.

    With `wait` False the block runs at once, with False, when another process
    holds the lock. Without flock (Windows) the block runs unlocked, with True.
    """
    if fcntl is None:
        yield True
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)  # releases the lock

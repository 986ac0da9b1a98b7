"""Files shared by processes: atomic writes, and exclusive locks that die with their holder.

A file is written under a temporary name in its own folder, flushed to disk
(fsync), then renamed over the target (`os.replace`, atomic on POSIX and
Windows). A crash or `kill -9` at any moment leaves the previous file intact
and at worst a stray `.<name>.<random>.tmp` beside it; a failure while writing
removes the temporary file and leaves the target untouched.

`file_lock` takes flock(2) on a file: the kernel releases it when the holder
exits or is killed, so a crash never leaves a lock behind.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; locks are then no-ops
    fcntl = None

FILE_LOCKS = fcntl is not None  # whether file_lock excludes other processes here


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write; on success it is fsynced and renamed to `path`, on error removed.

    For writers that want a file name (pandas, pyvcd, a library's `save(path)`).
    """
    path = Path(path)
    temporary = _new_temporary(path)
    try:
        yield temporary
        _fsync_file(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def atomic_write(path: str | Path, data: bytes | str) -> None:
    """Write `data` (str as UTF-8) to `path` atomically and durably."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data.encode() if isinstance(data, str) else data)


def _new_temporary(path: Path) -> Path:
    """A new empty file beside `path`, with the permissions a plain `open` would give (umask applies)."""
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temporary
        except FileExistsError:
            continue


def _fsync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; folders cannot be opened for this on Windows."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
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

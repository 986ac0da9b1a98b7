"""The user cache folder, and the package version and source digests that key what is kept there."""

from __future__ import annotations

import hashlib
import os
import pickle
from functools import cache
from pathlib import Path
from types import ModuleType

import cells
from cells.files import atomic_path


def cache_root() -> Path:
    """`GATEDSE_CACHE_DIR`, else `$XDG_CACHE_HOME/gatedse`, else `~/.cache/gatedse`."""
    if os.environ.get("GATEDSE_CACHE_DIR"):
        return Path(os.environ["GATEDSE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gatedse"


def package_version() -> str:
    """The version of the gatedse package (`cells.__version__`, which pyproject.toml reads too): read from the
    source rather than the installed metadata, which takes longer to import than a command to start."""
    return cells.__version__


@cache
def source_digest(*packages: ModuleType) -> str:
    """SHA-256 of the Python source of `packages`, so that a code change misses every cache keyed on it (read once
    per process)."""
    digest = hashlib.sha256()
    for package in packages:
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def load_pickle(path: Path):
    """The object pickled at `path`, or None when it is absent or unreadable (then it is rebuilt)."""
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except FileNotFoundError:
        return None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError):
        # a truncated or stale file (classes that changed) is a miss, not an error
        return None


def store_pickle(path: Path, value) -> None:
    """Pickle `value` to `path` atomically; an unwritable cache folder is skipped silently."""
    try:
        with atomic_path(path) as partial, partial.open("wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:
        pass

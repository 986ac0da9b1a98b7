"""Storage URLs without opening them: the default, file paths behind sqlite and journal URLs, relative paths.

Kept apart from `dse.storage` (which imports Optuna and SQLAlchemy) so that the
command line can name the default storage without importing them.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_STORAGE = "sqlite:///dse-studies.db"
FILE_SCHEMES = ("sqlite:///", "journal:///")


def canonical_storage_url(url: str) -> str:
    """`journal:/abs/path` spelled as `journal:////abs/path`; other URLs unchanged."""
    if url.startswith("journal:/") and not url.startswith("journal://"):
        return "journal:///" + url[len("journal:"):]
    return url


def resolve_storage_url(url: str, base: Path) -> str:
    """Anchor a relative sqlite/journal path at `base`; other URLs pass unchanged."""
    url = canonical_storage_url(url)
    for scheme in FILE_SCHEMES:
        if url.startswith(scheme) and not url.startswith(scheme + "/"):
            return scheme + str((base / url[len(scheme):]).resolve())
    return url


def storage_file(url: str) -> Path | None:
    """The file behind a sqlite or journal URL; None for server URLs."""
    url = canonical_storage_url(url)
    for scheme in FILE_SCHEMES:
        if url.startswith(scheme):
            return Path(url[len(scheme):])
    return None

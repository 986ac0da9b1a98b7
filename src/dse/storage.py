"""Where studies live: Optuna storage URLs, their defaults, and opening stored studies by name.

`sqlite:///dse-studies.db` (in the current folder) is the default. Any Optuna
RDB URL (PostgreSQL, MySQL) works, and `journal:///path.log` opens a journal
file (optuna.storages.JournalStorage on a JournalFileBackend) that many
processes may share. As in SQLAlchemy URLs, three slashes start a relative
path and four an absolute one; a relative path in a study file is taken
relative to that file.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import optuna
import sqlalchemy.exc
from optuna.storages.journal import JournalFileBackend, JournalStorage

from dse.errors import StudyError

DEFAULT_STORAGE = "sqlite:///dse-studies.db"
FILE_SCHEMES = ("sqlite:///", "journal:///")
HEARTBEAT_INTERVAL_S = 60
GRACE_PERIOD_S = 180
SQLITE_LOCK_TIMEOUT_S = 60
SCHEMA_RACE_ATTEMPTS = 5


def resolve_storage_url(url: str, base: Path) -> str:
    """Anchor a relative sqlite/journal path at `base`; other URLs pass unchanged."""
    for scheme in FILE_SCHEMES:
        if url.startswith(scheme) and not url.startswith(scheme + "/"):
            return scheme + str((base / url[len(scheme):]).resolve())
    return url


def storage_file(url: str) -> Path | None:
    """The file behind a sqlite or journal URL; None for server URLs."""
    for scheme in FILE_SCHEMES:
        if url.startswith(scheme):
            return Path(url[len(scheme):])
    return None


def open_storage(url: str, create: bool = True) -> optuna.storages.BaseStorage:
    """An Optuna storage for `url`; with `create` False a missing storage file is an error, not a new file.

    RDB storages get a heartbeat, so that a trial whose process died is marked
    failed by the next worker after the grace period; SQLite waits for locks
    held by other processes instead of failing at once.
    """
    path = storage_file(url)
    if path is not None and not create and not path.exists():
        raise StudyError(f"{url}: no such storage file")
    if path is not None and not path.parent.is_dir():
        raise StudyError(f"{url}: folder {path.parent} does not exist")
    if url.startswith("journal:///"):
        return JournalStorage(JournalFileBackend(str(path)))
    if "://" not in url:
        raise StudyError(f"{url!r} is not a storage URL (expected e.g. {DEFAULT_STORAGE}, journal:///studies.log)")
    try:
        return _rdb_storage(url)
    except (ImportError, ValueError, sqlalchemy.exc.SQLAlchemyError) as exc:
        raise StudyError(f"{url}: cannot open storage: {str(exc).splitlines()[0]}") from None


def _rdb_storage(url: str) -> optuna.storages.RDBStorage:
    """RDBStorage with a heartbeat, retried while another worker is creating the same new database.

    Workers started together on a new database race to create its tables and
    record its schema version; the loser fails once and finds the schema
    complete a moment later.
    """
    engine_kwargs = {"connect_args": {"timeout": SQLITE_LOCK_TIMEOUT_S}} if url.startswith("sqlite") else None

    def build() -> optuna.storages.RDBStorage:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_INTERVAL_S, grace_period=GRACE_PERIOD_S
            )

    for attempt in range(SCHEMA_RACE_ATTEMPTS - 1):
        try:
            return build()
        except sqlalchemy.exc.DBAPIError:
            time.sleep(0.2 * (attempt + 1))
    return build()


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """Names of all studies in a storage."""
    return sorted(s.study_name for s in storage.get_all_studies())


def load_study(name: str, url: str) -> optuna.Study:
    """A stored study by name; StudyError lists the names the storage holds."""
    storage = open_storage(url, create=False)
    names = study_names(storage)
    if name not in names:
        raise StudyError(f"no study {name!r} in {url} (it holds: {', '.join(names) or 'no studies'})")
    return optuna.load_study(study_name=name, storage=storage)

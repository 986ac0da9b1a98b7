"""Where studies live: Optuna storage URLs, their defaults, and opening stored studies by name.

`sqlite:///dse-studies.db` (in the current folder) is the default. Any Optuna
RDB URL (PostgreSQL, MySQL) works, and `journal:///path.log` opens a journal
file (optuna.storages.JournalStorage on a JournalFileBackend) that many
processes may share. As in SQLAlchemy URLs, three slashes start a relative
path and four an absolute one (`journal:/abs/path.log` is taken as
`journal:////abs/path.log`); a relative path in a study file is taken
relative to that file.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna
import sqlalchemy
import sqlalchemy.exc
from optuna.storages.journal import JournalFileBackend, JournalStorage

from cells.files import FILE_LOCKS, file_lock
from dse.errors import StudyError
from dse.storage_urls import DEFAULT_STORAGE, canonical_storage_url, storage_file

HEARTBEAT_INTERVAL_S = 60
GRACE_PERIOD_S = 180
SQLITE_LOCK_TIMEOUT_S = 60
SCHEMA_RACE_ATTEMPTS = 5
FIRST_RECORD_WAIT_S = 1.0  # how long a journal's cut-off first line may be another process's write in flight


def open_storage(url: str, create: bool = True) -> optuna.storages.BaseStorage:
    """An Optuna storage for `url`; with `create` False a missing storage file is an error, not a new file.

    RDB storages get a heartbeat, so that a trial whose process died is marked
    failed by the next worker after the grace period; SQLite waits for locks
    held by other processes instead of failing at once.
    """
    url = canonical_storage_url(url)
    path = storage_file(url)
    if path is not None and not create and not path.exists():
        raise StudyError(f"{url}: no such storage file")
    if path is not None and not path.parent.is_dir():
        raise StudyError(f"{url}: folder {path.parent} does not exist")
    if url.startswith("journal:///"):
        _check_journal_start(path)
        try:
            return JournalStorage(JournalFileBackend(str(path)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # JSON, encoding or record errors
            raise StudyError(f"{path}: not an Optuna journal file ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else 'unexpected record'})") from None
    if "://" not in url:
        raise StudyError(f"{url!r} is not a storage URL (expected e.g. {DEFAULT_STORAGE}, journal:///studies.log)")
    try:
        return _rdb_storage(url)
    except ImportError as exc:
        raise StudyError(f"{_redacted(url)}: cannot open storage: {_missing_module(exc)}") from None
    except (ValueError, sqlalchemy.exc.SQLAlchemyError) as exc:
        raise StudyError(f"{_redacted(url)}: cannot open storage: {str(exc).splitlines()[0]}") from None


def _check_journal_start(path: Path) -> None:
    """StudyError naming `path` unless it is missing, empty, or starts with a whole journal record.

    Optuna reads past one undecodable line (taken for a write cut off by a
    kill), so a one-line text file would open as an empty journal and have
    records appended to it. A journal's first record is always whole; a first
    line still without its end is waited for while another process may be
    writing it.
    """
    deadline = time.monotonic() + FIRST_RECORD_WAIT_S
    while True:
        try:
            with open(path, "rb") as file:
                first = file.readline()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StudyError(f"{path}: cannot read ({exc.strerror})") from None
        if not first or first.endswith(b"\n") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if not first:
        return
    try:
        record = json.loads(first) if first.endswith(b"\n") else None
    except ValueError:  # JSON or UTF-8
        record = None
    if not (isinstance(record, dict) and "op_code" in record):
        raise StudyError(f"{path}: not an Optuna journal file (line 1 is not a journal record)")


def _missing_module(exc: ImportError) -> str:
    """Name the database driver that failed to import (SQLAlchemy's own message does not)."""
    cause = exc
    while cause is not None and not isinstance(cause, ModuleNotFoundError):
        cause = cause.__cause__ or cause.__context__
    name = getattr(cause, "name", None) or exc.name
    if name is None:
        return str(exc).splitlines()[0]
    hint = " (pip install 'gatedse[postgres]')" if name.startswith("psycopg") else ""
    return f"the Python module {name!r} is not installed{hint}"


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


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


@contextmanager
def claim_lock(storage: optuna.storages.BaseStorage, url: str, study_name: str) -> Iterator[bool]:
    """Exclusive lock for claiming a study's next trial; yields whether it excludes other processes too.

    A file storage is locked with flock(2) on its file; PostgreSQL with an
    advisory lock keyed by the study name; either is released when its holder
    dies. Other servers (MySQL) and systems without flock get a lock inside
    this process only.
    """
    path = storage_file(url)
    if path is not None and FILE_LOCKS:
        with file_lock(path):
            yield True
        return
    if isinstance(storage, optuna.storages.RDBStorage) and storage.engine.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(study_name.encode()).digest()[:8], "big", signed=True)
        with storage.engine.connect() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield True
            finally:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        return
    with _PROCESS_CLAIM_LOCK:
        yield False


_PROCESS_CLAIM_LOCK = threading.Lock()


@contextmanager
def heartbeat(storage: optuna.storages.BaseStorage, trial_id: int) -> Iterator[None]:
    """Record the trial's heartbeat now and every interval while the block runs (RDB storages with a heartbeat)."""
    if not isinstance(storage, optuna.storages.RDBStorage) or storage.get_heartbeat_interval() is None:
        yield
        return
    done = threading.Event()

    def beat() -> None:
        while not done.wait(storage.get_heartbeat_interval()):
            storage.record_heartbeat(trial_id)

    storage.record_heartbeat(trial_id)
    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()

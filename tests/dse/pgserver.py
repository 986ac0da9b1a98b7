"""A throwaway PostgreSQL server in a temporary folder, for tests and benchmarks of the PostgreSQL storage.

The server runs as the current user, or as `nobody` when that is root
(PostgreSQL refuses to run as root); it listens only on a Unix socket in the
folder and is stopped and deleted on exit.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PostgresUnavailable(Exception):
    """Why no throwaway server could be started here."""


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise PostgresUnavailable(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a server; yield its SQLAlchemy URL (database `postgres`, user `dse`, no password)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PostgresUnavailable("psycopg is not installed (pip install 'gatedse[postgres]')") from None
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    prefix: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PostgresUnavailable("running as root without runuser to start PostgreSQL as nobody")
        prefix = [runuser, "-u", "nobody", "--"]
    folder = Path(tempfile.mkdtemp(prefix="gatedse-pg-"))
    try:
        if prefix:
            shutil.chown(folder, "nobody")
        data = folder / "data"
        subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "dse", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=120)
        options = f"-k {folder} -c listen_addresses= -c fsync=off -c max_connections=100"
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
                       check=True, capture_output=True, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        detail = getattr(exc, "stderr", b"") or b""
        raise PostgresUnavailable(f"cannot start a PostgreSQL server: {exc} {detail.decode()[-300:]}") from None
    try:
        yield f"postgresql://dse@/postgres?host={folder}"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60,
                       check=False)
        shutil.rmtree(folder, ignore_errors=True)

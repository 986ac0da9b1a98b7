"""Fixtures of the dse tests: a throwaway PostgreSQL server (skipped with the reason where none can start)."""

from __future__ import annotations

import itertools

import pytest

from tests.dse.pgserver import PostgresUnavailable, throwaway_postgres

_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres_server():
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def postgres_url(postgres_server):
    """URL of a new, empty database on the session's server."""
    import psycopg

    name = f"test_{next(_databases)}"
    with psycopg.connect(_libpq(postgres_server), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return postgres_server.replace("/postgres?", f"/{name}?")


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string."""
    user_host, query = url[len("postgresql://"):].split("?")
    user, database = user_host.split("@/")
    return f"user={user} dbname={database} {query.replace('&', ' ')}"

"""The text of a third-party Liberty file (the libraries themselves are fixtures of tests/conftest.py)."""

from __future__ import annotations

import gzip

import pytest

from tests.conftest import shared_file


@pytest.fixture(scope="session")
def nangate_text() -> str:
    """The text of the Nangate library file."""
    return gzip.decompress(shared_file("nangate45_typ.lib.gz").read_bytes()).decode()

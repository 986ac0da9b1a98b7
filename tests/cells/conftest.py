"""The full third-party Liberty libraries, read once per test session (each takes seconds)."""

from __future__ import annotations

import gzip

import pytest

from cells.liberty_reader import read_liberty
from tests.conftest import shared_file


@pytest.fixture(scope="session")
def sky130_full():
    """The full sky130 hd library, typical corner."""
    return read_liberty(shared_file("sky130hd_tt.lib.gz"))


@pytest.fixture(scope="session")
def nangate():
    """The Nangate 45 nm open cell library, typical corner."""
    return read_liberty(shared_file("nangate45_typ.lib.gz"))


@pytest.fixture(scope="session")
def nangate_text() -> str:
    """The text of the Nangate library file."""
    return gzip.decompress(shared_file("nangate45_typ.lib.gz").read_bytes()).decode()

"""Shared fixtures: the default library, the third-party files in ../shared, tool availability."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cells.default import load_library
from cells.liberty_reader import read_liberty

SHARED_LIBERTY = Path(os.environ.get("GATEDSE_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "liberty"


@pytest.fixture(scope="session")
def library():
    """The embedded default library (sky130 hd subset)."""
    return load_library()


@pytest.fixture(scope="session")
def sky130_full():
    """The full sky130 hd library, typical corner (read once per session: it takes seconds)."""
    return read_liberty(shared_file("sky130hd_tt.lib.gz"))


@pytest.fixture(scope="session")
def nangate():
    """The Nangate 45 nm open cell library, typical corner."""
    return read_liberty(shared_file("nangate45_typ.lib.gz"))


def shared_file(name: str) -> Path:
    """A file from ../shared/liberty, or skip the test when the folder is absent."""
    path = SHARED_LIBERTY / name
    if not path.exists():
        pytest.skip(f"{path} is absent (third-party reference files are not in this checkout)")
    return path


def require_tool(name: str) -> str:
    """Path of an external tool, or skip the test with the reason."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (CI installs it; apt-get install {name})")
    return found

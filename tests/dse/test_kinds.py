"""The kind registry: entry points of the installed packages plus kinds registered in code."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

import dse.kinds
from dse.errors import ConfigError, StudyError
from dse.kinds import ENTRY_POINT_GROUP, kind, kind_names
from tests.dse.toykind import Toy


def test_registered_and_declared_kinds_are_both_known():
    assert "toy" in kind_names() and kind("toy") is Toy
    assert "weight-subset" in kind_names()  # declared by this package's entry points, not loaded yet


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown study kind 'nope' \(known: .*logic-area.*toy"):
        kind("nope")


def test_an_entry_point_that_is_no_kind_is_refused(monkeypatch):
    bad = EntryPoint(name="bogus", value="json:dumps", group=ENTRY_POINT_GROUP)
    monkeypatch.setattr(dse.kinds, "entry_points",
                        lambda group, name=None: [p for p in [bad] if name in (None, p.name)])
    with pytest.raises(StudyError, match=r"entry point bogus = json:dumps of group gatedse.study_kinds is not a "
                                         r"StudyKind named 'bogus'"):
        kind("bogus")


def test_an_entry_point_that_cannot_be_imported_is_one_line(monkeypatch):
    missing = EntryPoint(name="gone", value="no_such_package.kinds:Gone", group=ENTRY_POINT_GROUP)
    monkeypatch.setattr(dse.kinds, "entry_points",
                        lambda group, name=None: [p for p in [missing] if name in (None, p.name)])
    with pytest.raises(StudyError, match=r"entry point gone = no_such_package.kinds:Gone .* cannot be loaded: "
                                         r"No module named 'no_such_package'"):
        kind("gone")

"""Commands that packages add to `dse` through entry points of the group `gatedse.commands`."""

from __future__ import annotations

import argparse
from importlib.metadata import EntryPoint

import pytest

import dse.cli.plugins
from dse.cli.plugins import COMMAND_GROUP, add_plugin_commands
from dse.errors import StudyError


def _declare(monkeypatch, *points: EntryPoint) -> None:
    monkeypatch.setattr(dse.cli.plugins, "entry_points", lambda group: [p for p in points if p.group == group])


def _commands() -> argparse._SubParsersAction:
    return argparse.ArgumentParser().add_subparsers()


def test_our_kinds_commands_are_entry_points_each_with_something_to_run():
    commands = _commands()
    add_plugin_commands(commands)
    assert {"prune", "histograms", "early-exit", "variation"} <= set(commands.choices)
    for command in commands.choices.values():
        runs = [command.get_default("run")] + [sub.get_default("run") for action in command._actions
                                                 if isinstance(action, argparse._SubParsersAction)
                                                 for sub in action.choices.values()]
        assert all(callable(run) for run in runs)


def test_an_entry_point_that_cannot_be_imported_is_one_line(monkeypatch):
    _declare(monkeypatch, EntryPoint(name="gone", value="no_such_package.cli:add", group=COMMAND_GROUP))
    with pytest.raises(StudyError, match=r"entry point gone = no_such_package.cli:add of group gatedse.commands "
                                         r"cannot be loaded: No module named 'no_such_package'"):
        add_plugin_commands(_commands())


def test_an_entry_point_must_add_the_command_it_names(monkeypatch):
    _declare(monkeypatch, EntryPoint(name="other", value="studies.commands:add_prune", group=COMMAND_GROUP))
    with pytest.raises(StudyError, match=r"entry point other = studies.commands:add_prune .* added no command "
                                         r"named 'other'"):
        add_plugin_commands(_commands())


def test_an_entry_point_that_is_no_function_is_refused(monkeypatch):
    _declare(monkeypatch, EntryPoint(name="pi", value="math:pi", group=COMMAND_GROUP))
    with pytest.raises(StudyError, match=r"entry point pi = math:pi .* is not a function that adds a command"):
        add_plugin_commands(_commands())

"""Every `dse` command explains itself: a description and the defaults of its options in --help."""

from __future__ import annotations

import argparse

import pytest

import tests.dse.toykind  # noqa: F401  (registers the "toy" kind)
from dse.cli import build_parser
from dse.cli.options import subparsers


def all_commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("dse",)):
    yield " ".join(path), parser
    for name, command in subparsers(parser).items():
        yield from all_commands(command, (*path, name))


COMMANDS = dict(all_commands(build_parser()))


def test_the_walk_reaches_built_in_and_kind_commands():
    assert {"dse cells list", "dse lut show", "dse study export", "dse pareto", "dse demo", "dse prune",
            "dse early-exit report", "dse variation report"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_a_description_and_shows_its_defaults(name):
    parser = COMMANDS[name]
    assert parser.description and parser.description.strip(), f"{name} has no description"
    shown = " ".join(parser.format_help().split())
    for action in parser._actions:
        default = action.default
        if action.help in (None, argparse.SUPPRESS) or default in (None, argparse.SUPPRESS) or default is False \
                or default == [] or "default" in action.help:
            continue
        assert f"(default: {default})" in shown, f"{name} {action.option_strings}: default {default!r} not shown"


def test_demo_takes_a_seed():
    assert build_parser(["demo"]).parse_args(["demo", "--seed", "3"]).seed == 3


def test_the_cla_adder_is_named_kogge_stone():
    assert "Kogge-Stone (cla)" in " ".join(COMMANDS["dse netlist"].format_help().split())

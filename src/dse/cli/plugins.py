"""Commands that installed packages add to `dse`: entry points of the group `gatedse.commands`.

An entry point's name is the command's name and its value `module:function`,
where `function(commands)` adds the command to `dse`'s subparsers. Building the
command line loads every such module, so it should import only argparse and
`dse.cli`'s helpers and leave its heavy modules (torch, Optuna) to the
function that runs the command: `dse --help` then stays fast. Our own study
kinds bring `dse prune`, `dse early-exit report` and `dse variation report`
this way (`studies.commands`).
"""

from __future__ import annotations

import argparse

from dse.errors import StudyError

COMMAND_GROUP = "gatedse.commands"


def entry_points(group: str):
    """The installed packages' entry points of `group`; importlib.metadata is imported here, when a command line
    needs the plugins, since importing it takes about as long as building the rest of the parser."""
    from importlib.metadata import entry_points as installed

    return installed(group=group)


def add_plugin_commands(commands: argparse._SubParsersAction) -> None:
    """Add every command the installed packages declare, in name order; a broken entry point is one clear line."""
    for point in sorted(entry_points(group=COMMAND_GROUP), key=lambda p: p.name):
        try:
            add = point.load()
        except ImportError as exc:
            raise StudyError(f"entry point {point.name} = {point.value} of group {COMMAND_GROUP} cannot be "
                             f"loaded: {exc}") from exc
        if not callable(add):
            raise StudyError(f"entry point {point.name} = {point.value} of group {COMMAND_GROUP} is not a function "
                             "that adds a command")
        add(commands)
        if point.name not in commands.choices:
            raise StudyError(f"entry point {point.name} = {point.value} of group {COMMAND_GROUP} added no command "
                             f"named {point.name!r}")

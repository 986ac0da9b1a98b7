"""The `dse` command: thin argument parsing over library functions, one clear line per user error.

Each module of this package adds one command (or group) with `register(commands)`;
`options` holds the options several commands share. Installed packages add
their own commands as entry points (`plugins`); those are loaded only when the
command line names no built-in command. No module imported to build the parser
imports numpy, torch, Optuna, pandas or matplotlib: each command imports what
it needs when it runs, so `dse --help` takes a fraction of a second.
"""

from __future__ import annotations

import argparse
import os
import sys

from cells.cache import package_version
from cells.errors import GatedseError
from dse.cli import cells, characterize, demo, netlist, pareto, simulate, study, timing
from dse.cli.options import HelpFormatter, subparsers
from dse.cli.plugins import add_plugin_commands

COMMANDS = (cells, netlist, characterize, simulate, timing, study, pareto, demo)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        if not hasattr(args, "run"):
            parser.print_help()
            return 2
        return args.run(args) or 0
    except GatedseError as exc:
        print(f"dse: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dse: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output (e.g. `| head`) has gone; stop quietly as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every built-in command, plus the installed packages' commands unless `argv` names a built-in one."""
    parser = argparse.ArgumentParser(
        prog="dse",
        description="Gate-level characterization and design-space exploration of neural-network hardware.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    if not argv or argv[0] not in commands.choices:
        add_plugin_commands(commands)
    _show_defaults(parser)
    return parser


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Every command's --help lists its options' defaults."""
    parser.formatter_class = HelpFormatter
    for command in subparsers(parser).values():
        _show_defaults(command)

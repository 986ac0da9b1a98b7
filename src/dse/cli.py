"""The `dse` command: thin argument parsing over library functions, one clear line per user error."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cells.errors import GatedseError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
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


def build_parser() -> argparse.ArgumentParser:
    from dse import (
        cli_cells,
        cli_characterize,
        cli_demo,
        cli_early_exit,
        cli_netlist,
        cli_pareto,
        cli_prune,
        cli_simulate,
        cli_study,
        cli_variation,
    )

    parser = argparse.ArgumentParser(
        prog="dse",
        description="Gate-level characterization and design-space exploration of neural-network hardware.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in (cli_cells, cli_netlist, cli_characterize, cli_simulate, cli_study, cli_prune, cli_early_exit,
                   cli_variation, cli_pareto, cli_demo):
        module.register(commands)
    return parser


def add_library_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--library", type=Path, metavar="FILE", help="Liberty file (.lib or .lib.gz); default: the embedded sky130 hd subset"
    )


if __name__ == "__main__":
    sys.exit(main())

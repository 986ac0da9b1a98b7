"""`dse GROUP report`: one trial's table of a study as CSV and optionally a figure, for kinds that report trials.

A kind gives a function that returns two: the table (`table_of(study, trial)`
-> (table, trial number used; the knee of the front when `trial` is None)) and
its figure (`plot_of(table, path, title)`). It is called only when the command
runs, so that building the command line imports none of the kind's modules.
The command reads the study, writes both and prints the table.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from dse.cli.options import add_study_argument, study_and_storage

if TYPE_CHECKING:
    import optuna
    import pandas as pd

TableOf = Callable[["optuna.Study", "int | None"], "tuple[pd.DataFrame, int]"]
PlotOf = Callable[["pd.DataFrame", Path, str], None]


def add_trial_report_command(commands: argparse._SubParsersAction, group: str, group_help: str, help: str,
                             description: str, functions: Callable[[], tuple[TableOf, PlotOf]]) -> None:
    """`dse {group} report NAME|STUDY.toml -o table.csv [--plot fig.png] [--trial N] [--storage URL]`."""
    parser = commands.add_parser(group, help=group_help, description=f"{group_help[0].upper()}{group_help[1:]}.")
    sub = parser.add_subparsers(title=f"{group} commands", metavar="COMMAND")
    report = sub.add_parser("report", help=help, description=description)
    add_study_argument(report)
    report.add_argument("--trial", type=int, metavar="N", help="trial number (default: the knee of the front)")
    report.add_argument("-o", "--output", type=Path, required=True, metavar="table.csv", help="CSV file to write")
    report.add_argument("--plot", type=Path, metavar="fig.png", help="also draw it: .png, .svg or .pdf")
    report.set_defaults(run=partial(run_trial_report, functions=functions))
    parser.set_defaults(run=lambda args: parser.print_help() or 2)


def run_trial_report(args: argparse.Namespace, functions: Callable[[], tuple[TableOf, PlotOf]]) -> int:
    from dse.frames import write_csv
    from dse.storage import load_study

    table_of, plot_of = functions()
    name, url = study_and_storage(args)
    table, trial = table_of(load_study(name, url), args.trial)
    write_csv(table, args.output)
    written = [args.output]
    if args.plot:
        plot_of(table, args.plot, f"{name}, trial {trial}")
        written.append(args.plot)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"trial {trial}; wrote " + ", ".join(str(p) for p in written))
    return 0

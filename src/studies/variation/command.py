"""`dse variation report`: accuracy against σ of one trial of a variation study."""

from __future__ import annotations

import argparse
from pathlib import Path

from dse.cli.options import add_storage_option
from dse.frames import write_csv
from dse.storage import load_study
from studies.variation.report import plot_sigma_table, study_sigma_table


def add_report_command(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("variation", help="inspect variation (CorrectNet) studies")
    sub = group.add_subparsers(title="variation commands", metavar="COMMAND")
    report = sub.add_parser(
        "report",
        help="accuracy against σ: plain, suppression only, suppression + compensation",
        description="Write the accuracy under variation against σ of one trial of a variation study (plain "
        "network, suppression only, suppression + compensation; Monte Carlo means and standard errors on the "
        "validation part) as CSV and optionally as a plot; by default the knee trial of the Pareto front.",
    )
    report.add_argument("name", help="study name")
    add_storage_option(report)
    report.add_argument("--trial", type=int, metavar="N", help="trial number (default: the knee of the front)")
    report.add_argument("-o", "--output", type=Path, required=True, metavar="table.csv", help="CSV file to write")
    report.add_argument("--plot", type=Path, metavar="fig.png", help="also draw the curves: .png, .svg or .pdf")
    report.set_defaults(run=run_report)
    group.set_defaults(run=lambda args: group.print_help() or 2)


def run_report(args: argparse.Namespace) -> int:
    table, trial = study_sigma_table(load_study(args.name, args.storage), args.trial)
    write_csv(table, args.output)
    written = [args.output]
    if args.plot:
        plot_sigma_table(table, args.plot, f"{args.name}, trial {trial}")
        written.append(args.plot)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"trial {trial}; wrote " + ", ".join(str(p) for p in written))
    return 0

"""`dse pareto`: the Pareto front of a stored study as a figure, and optionally as CSV and JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

from dse.cli.options import add_study_argument, study_and_storage


def register(commands) -> None:
    parser = commands.add_parser(
        "pareto",
        help="plot and export the Pareto front of a study",
        description="Plot the completed trials of a study with its Pareto front (feasible trials only), "
        "knee point and unrestricted baseline; with more than two objectives, one panel per pair.",
    )
    add_study_argument(parser)
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="front.png",
                        help="figure to write: .png, .svg or .pdf")
    parser.add_argument("--csv", type=Path, metavar="front.csv", help="also write the front's trials as CSV")
    parser.add_argument("--json", type=Path, metavar="front.json",
                        help="also write the front, knee and hypervolume as JSON")
    parser.add_argument("--importance", type=Path, metavar="importance.png",
                        help="also plot each parameter's importance for each objective (fANOVA)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dse.frames import pareto_summary, write_csv, write_json
    from dse.plots import plot_front
    from dse.storage import load_study

    study = load_study(*study_and_storage(args))
    summary = pareto_summary(study)
    plot_front(summary, args.output)
    written = [args.output]
    if args.csv:
        write_csv(summary.front, args.csv)
        written.append(args.csv)
    if args.json:
        write_json(summary, args.json)
        written.append(args.json)
    if args.importance:
        from dse.importance import plot_importance  # fANOVA (scikit-learn) and matplotlib: only on request

        plot_importance(study, args.importance)
        written.append(args.importance)
    knee = "no knee" if summary.knee_trial is None else f"knee: trial {summary.knee_trial}"
    print(f"{summary.study_name}: {len(summary.front)} of {len(summary.trials)} completed trials on the front, "
          f"{knee}, hypervolume {summary.hypervolume:.6g}")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0

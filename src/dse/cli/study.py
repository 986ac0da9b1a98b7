"""`dse study run|list|show|export`: run Optuna studies from study files and inspect stored ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dse.cli.options import (
    STORAGE_URLS,
    add_quiet_option,
    add_study_argument,
    positive_int,
    study_and_storage,
)
from dse.cli.stopping import first_interrupt_stops
from dse.errors import Stopped
from dse.storage_urls import DEFAULT_STORAGE


def register(commands) -> None:
    study = commands.add_parser("study", help="run and inspect Optuna studies",
                                description="Run Optuna studies from study files and inspect the stored ones.")
    sub = study.add_subparsers(title="study commands", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run (or resume) the study a study file describes",
        description="Create the study, or resume it by name, and run the trials still missing. "
        "Several processes may run the same study against one storage. Progress bars (trials, training with "
        "epoch, loss and accuracy) go to stderr. A first Ctrl-C stops training at its next batch and marks its "
        "trial failed (the next run retries it); a second aborts at once.",
    )
    run.add_argument("study_file", type=Path, metavar="STUDY.toml", help="study file (TOML)")
    run.add_argument("--storage", metavar="URL", help=f"{STORAGE_URLS} (default: the study file's storage, "
                     f"else {DEFAULT_STORAGE} in the current folder)")
    run.add_argument("--n-trials", type=positive_int, metavar="N", help="run exactly N more trials (default: "
                     "the ones missing to reach the file's trials)")
    run.add_argument("--jobs", type=positive_int, default=1, metavar="J", help="trials in parallel threads")
    add_quiet_option(run)
    run.set_defaults(run=run_run)
    listing = sub.add_parser("list", help="list the studies in a storage",
                             description="List the studies in a storage with their kind, trial counts and "
                             "objectives: the storage --storage names, else the one a study file names.")
    listing.add_argument("study_file", nargs="?", type=Path, metavar="STUDY.toml",
                         help="study file whose storage to list")
    listing.add_argument("--storage", metavar="URL", help=f"{STORAGE_URLS} (default: the study file's storage, "
                         f"else {DEFAULT_STORAGE} in the current folder)")
    listing.set_defaults(run=run_list)
    show = sub.add_parser("show", help="describe a study: trials, baseline, Pareto front, knee, hypervolume",
                          description="Describe a stored study: kind, objectives, constraints, trial states, "
                          "baseline, Pareto front, knee and hypervolume.")
    add_study_argument(show)
    show.set_defaults(run=run_show)
    export = sub.add_parser("export", help="write every trial of a study to CSV",
                            description="Write every trial of a study (all states) to CSV: objectives, parameters, "
                            "constraint violations, feasibility and every recorded metric.")
    add_study_argument(export)
    export.add_argument("-o", "--output", type=Path, required=True, metavar="trials.csv", help="CSV file to write")
    export.set_defaults(run=run_export)
    study.set_defaults(run=lambda args: study.print_help() or 2)


def run_run(args: argparse.Namespace) -> int:
    import optuna

    from dse.config import load_study_config
    from dse.runner import run_study
    from dse.workers import trial_counts

    config = load_study_config(args.study_file)
    url = args.storage or config.storage or DEFAULT_STORAGE
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with first_interrupt_stops("stopping: training stops at its next batch, its trial is marked failed") as stop:
            study = run_study(config, url, args.n_trials, args.jobs, progress=not args.quiet, stop=stop)
    except Stopped:
        print("stopped on request before any trial ran; nothing was stored; run the same command to resume",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"aborted: finished trials are kept in {url}; run the same command to resume", file=sys.stderr)
        return 130
    print(f"study {config.name}: {trial_counts(study)} ({url})")
    if stop.is_set():
        print("stopped on request; run the same command to resume", file=sys.stderr)
        return 130
    return 0


def run_list(args: argparse.Namespace) -> int:
    from dse.config import load_study_config
    from dse.report import list_studies

    stored = load_study_config(args.study_file).storage if args.study_file else None
    url = args.storage or stored or DEFAULT_STORAGE
    listings = list_studies(url)
    if not listings:
        print(f"no studies in {url}")
        return 0
    print(f"{'study':<28} {'kind':<16} {'complete':>8} {'total':>6}  objectives")
    for s in listings:
        print(f"{s.name:<28} {s.kind:<16} {s.complete:>8} {s.total:>6}  {', '.join(s.objectives)}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from dse.report import describe_study
    from dse.storage import load_study
    from dse.workers import fail_dead_trials

    name, url = study_and_storage(args)
    study = load_study(name, url)
    fail_dead_trials(study, url)
    print("\n".join(describe_study(study)))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from dse.frames import trials_frame, write_csv
    from dse.storage import load_study

    frame = trials_frame(load_study(*study_and_storage(args)))
    write_csv(frame, args.output)
    print(f"wrote {len(frame)} trials to {args.output}")
    return 0

"""`dse prune`: run one fixed pruning setting of a study file and write the pruned network and a report."""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Callable
from functools import partial
from pathlib import Path

from dse.cli.options import add_quiet_option
from dse.cli.stopping import first_interrupt_stops
from dse.config import load_study_config
from dse.errors import ConfigError, Stopped
from dse.storage import DEFAULT_STORAGE

RunOnce = Callable[..., dict]
"""`run_once(config, out, overrides, storage, progress, stop)`: run one setting, write the results, return the
report."""


def add_prune_command(commands: argparse._SubParsersAction, kind: str, run_once: RunOnce) -> None:
    """`dse prune` for study files of kind `kind`: `run_once` does the work."""
    prune = commands.add_parser(
        "prune",
        help="prune once with a study file's fixed setting; write the pruned network and a report",
        description=f"Run the one setting of a {kind} study file (every [space] key a single value, "
        "or fixed with --set) and write into OUTDIR: pruned_model.pt, report.json, report.txt (kept and pruned "
        "filters per layer, accuracy, parameters, MACs, LUT energy), class_counts.csv and class_counts.png "
        "(filters' class counts before and after pruning). Progress bars (training with epoch, loss and accuracy) "
        "go to stderr; a first Ctrl-C stops training at its next batch and writes nothing, a second aborts at once.",
    )
    prune.add_argument("study_file", type=Path, metavar="STUDY.toml", help="study file (TOML)")
    prune.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR", help="folder for the results")
    prune.add_argument("--storage", metavar="URL", help="storage of the study, whose folder caches the trained "
                       f"baseline (default: the study file's storage, else {DEFAULT_STORAGE} in the current folder)")
    prune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                       help="fix a [space] key to a TOML value, a bare word being a string (e.g. --set ratio=0.5 "
                       "--set method=magnitude); repeatable")
    add_quiet_option(prune)
    prune.set_defaults(run=partial(run_prune, kind=kind, run_once=run_once))


def parse_override(text: str) -> tuple[str, object]:
    """`key=value` with the value read as TOML (a bare word that is not valid TOML is taken as a string)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text}: expected KEY=VALUE")
    try:
        parsed = tomllib.loads(f"value = {value.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key.strip(), parsed


def run_prune(args: argparse.Namespace, kind: str, run_once: RunOnce) -> int:
    config = load_study_config(args.study_file)
    if config.kind != kind:
        raise ConfigError(f"{config.path}: study.kind: dse prune runs one setting of a pruning kind, "
                          f"not of {config.kind!r}")
    overrides = dict(parse_override(text) for text in args.overrides)
    try:
        with first_interrupt_stops("stopping: training stops at its next batch") as stop:
            run_once(config, args.out, overrides, args.storage, progress=not args.quiet, stop=stop)
    except Stopped:
        print("stopped on request; nothing was written", file=sys.stderr)
        return 130
    print((args.out / "report.txt").read_text(), end="")
    print(f"wrote the pruned network and the report to {args.out}")
    return 0

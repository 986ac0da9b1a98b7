"""The `dse` commands our study kinds bring: `dse prune`, `dse histograms`, `dse early-exit report` and
`dse variation report`.

Each function here is an entry point of the group `gatedse.commands`
(pyproject.toml) that adds one command. The module imports only argparse and
`dse`'s command-line helpers; the kinds' modules (torch, Optuna) are imported
when a command runs, so that `dse --help` does not load them.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from dse.cli.options import add_quiet_option
from dse.cli.stopping import first_interrupt_stops
from dse.cli.trial_report import add_trial_report_command
from dse.errors import ConfigError, Stopped
from dse.storage_urls import DEFAULT_STORAGE

PRUNING_KIND = "class-aware-pruning"
QAT_KINDS = ("weight-subset", "logic-area", "class-aware-pruning")  # kinds whose networks are a QuantSession's baseline


def add_prune(commands: argparse._SubParsersAction) -> None:
    """`dse prune STUDY.toml -o OUTDIR [--set KEY=VALUE]...`: one fixed setting of a class-aware-pruning study."""
    prune = commands.add_parser(
        "prune",
        help="prune once with a study file's fixed setting; write the pruned network and a report",
        description=f"Run the one setting of a {PRUNING_KIND} study file (every [space] key a single value, "
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
    prune.set_defaults(run=run_prune)


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


def run_prune(args: argparse.Namespace) -> int:
    from dse.config import load_study_config
    from studies.kinds.class_aware_pruning import ClassAwarePruning

    config = load_study_config(args.study_file)
    if config.kind != ClassAwarePruning.name:
        raise ConfigError(f"{config.path}: study.kind: dse prune runs one setting of a pruning kind, "
                          f"not of {config.kind!r}")
    overrides = dict(parse_override(text) for text in args.overrides)
    try:
        with first_interrupt_stops("stopping: training stops at its next batch") as stop:
            ClassAwarePruning.run_once(config, args.out, overrides, args.storage, progress=not args.quiet, stop=stop)
    except Stopped:
        print("stopped on request; nothing was written", file=sys.stderr)
        return 130
    print((args.out / "report.txt").read_text(), end="")
    print(f"wrote the pruned network and the report to {args.out}")
    return 0


def add_histograms(commands: argparse._SubParsersAction) -> None:
    """`dse histograms STUDY.toml -o DIR`: the per-layer histograms and sequences of a study's quantized baseline."""
    command = commands.add_parser(
        "histograms",
        help="export a study's per-layer weight and activation histograms and activation sequences",
        description="Train (or load from the cache) the quantized baseline of a study file and write into OUTDIR: "
        "weights.csv and activations.csv of the whole network, and per layer layer_<name>_weights.csv, "
        "layer_<name>_activations.csv (value,count, over the training part; dse characterize --activations reads "
        "them) and layer_<name>_sequence.csv (the activations, in order, that characterize the layer under "
        "[lut] activations = \"per-layer\": segments of its weight-stationary stream). "
        f"For studies of kind {', '.join(QAT_KINDS)}.",
    )
    command.add_argument("study_file", type=Path, metavar="STUDY.toml", help="study file (TOML)")
    command.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR", help="folder for the files")
    command.add_argument("--storage", metavar="URL", help="storage of the study, whose folder caches the trained "
                         f"baseline (default: the study file's storage, else {DEFAULT_STORAGE} in the current folder)")
    command.set_defaults(run=run_histograms)


def run_histograms(args: argparse.Namespace) -> int:
    import numpy as np

    from dse.config import load_study_config
    from dse.costmodel import layer_macs
    from dse.runner import study_context
    from studies.histograms import export_network
    from studies.session import QuantSession

    config = load_study_config(args.study_file)
    if config.kind not in QAT_KINDS:
        raise ConfigError(f"{config.path}: study.kind: dse histograms reads the quantized baseline of "
                          f"{', '.join(QAT_KINDS)} studies, not of {config.kind!r}")
    session = QuantSession(study_context(config, args.storage or config.storage or DEFAULT_STORAGE))
    stats = session.reference().stats
    sequences = session.layer_sequences()
    print(f"{'layer':<12} {'MACs':>10} {'weights':>8} {'zero inputs':>11} {'mean input':>10}")
    for layer in stats:
        counts = layer.activations
        values = np.arange(len(counts)) + layer.activation_min
        mean = float((counts * values).sum() / counts.sum()) if counts.sum() else 0.0
        print(f"{layer.name:<12} {layer_macs(layer):>10} "
              f"{len(layer.weight_counts()[0]):>8} {100 * layer.zero_activation_share():>10.1f}% {mean:>10.2f}")
    for path in export_network(stats, sequences, args.out):
        print(f"wrote {path}")
    return 0


def add_early_exit_report(commands: argparse._SubParsersAction) -> None:
    """`dse early-exit report`."""
    add_trial_report_command(
        commands, "early-exit", "inspect early-exit studies",
        help="per exit: average excluded classes and share of images leaving there",
        description="Write the per-exit figures of one trial of an early-exit study (measured on the test "
                    "part) as CSV and optionally as a plot; by default the knee trial of the study's Pareto front.",
        functions=_exit_report_functions)


def _exit_report_functions():
    from studies.early_exit.report import plot_exit_table, study_exit_table

    return study_exit_table, plot_exit_table


def add_variation_report(commands: argparse._SubParsersAction) -> None:
    """`dse variation report`."""
    add_trial_report_command(
        commands, "variation", "inspect variation (CorrectNet) studies",
        help="accuracy against σ: plain, suppression only, suppression + compensation",
        description="Write the accuracy under variation against σ of one trial of a variation study (plain "
                    "network, suppression only, suppression + compensation; Monte Carlo means and standard errors "
                    "on the validation part) as CSV and optionally as a plot; by default the knee trial of the "
                    "Pareto front.",
        functions=_sigma_report_functions)


def _sigma_report_functions():
    from studies.variation.report import plot_sigma_table, study_sigma_table

    return study_sigma_table, plot_sigma_table

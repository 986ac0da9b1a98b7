"""`dse histograms`: the per-layer histograms and characterization sequences of a study's quantized baseline."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dse.config import load_study_config
from dse.costmodel import layer_macs
from dse.errors import ConfigError
from dse.runner import study_context
from dse.storage import DEFAULT_STORAGE
from studies.histograms import export_network
from studies.session import QuantSession

# The kinds whose networks are the QAT baseline of a QuantSession.
KINDS = ("weight-subset", "logic-area", "class-aware-pruning")


def add_histograms_command(commands: argparse._SubParsersAction) -> None:
    """`dse histograms STUDY.toml -o DIR`."""
    command = commands.add_parser(
        "histograms",
        help="export a study's per-layer weight and activation histograms and activation sequences",
        description="Train (or load from the cache) the quantized baseline of a study file and write into OUTDIR: "
        "weights.csv and activations.csv of the whole network, and per layer layer_<name>_weights.csv, "
        "layer_<name>_activations.csv (value,count, over the training part; dse characterize --activations reads "
        "them) and layer_<name>_sequence.csv (the activations, in order, that characterize the layer under "
        "[lut] activations = \"per-layer\": segments of its weight-stationary stream). "
        f"For studies of kind {', '.join(KINDS)}.",
    )
    command.add_argument("study_file", type=Path, metavar="STUDY.toml", help="study file (TOML)")
    command.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR", help="folder for the files")
    command.add_argument("--storage", metavar="URL", help="storage of the study, whose folder caches the trained "
                         f"baseline (default: the study file's storage, else {DEFAULT_STORAGE} in the current folder)")
    command.set_defaults(run=run_histograms)


def run_histograms(args: argparse.Namespace) -> int:
    config = load_study_config(args.study_file)
    if config.kind not in KINDS:
        raise ConfigError(f"{config.path}: study.kind: dse histograms reads the quantized baseline of "
                          f"{', '.join(KINDS)} studies, not of {config.kind!r}")
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

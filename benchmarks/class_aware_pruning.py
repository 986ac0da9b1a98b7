"""Class-aware against magnitude (and random) filter pruning of the small CNN on digits, at equal ratios.

Usage: python benchmarks/class_aware_pruning.py [--seeds 0,1,2,3,4] [--ratios 0.3,0.5,0.7] [--scope layer]
       [--methods class-aware,magnitude,random] [--tau 1e-3] [--lambda1 1e-5] [--lambda2 1e-2] [--csv rows.csv]

Per seed (which also draws the data split) the 8-bit quantization-aware CNN
(channels 16, 32) is trained once; then every method prunes it to every
ratio through the same loop: `regularize_epochs` of training, `iterations`
rounds of pruning each followed by `finetune_epochs`. Only the class-aware
method gets the L1 and orthogonality terms unless --regularize-baselines.
With scope "layer" every layer loses the same share, so all methods end with
the same architecture, MACs and nearly the same energy, and differ only in
which filters they keep. Energy per inference comes from the LUT of the
8-bit signed array multiplier in stationary mode (500 vectors, cached after
the first run). Prints per method and ratio the mean and spread over seeds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.passes.designs import MultiplierSpec
from dse.kinds import StudyContext
from studies.kinds.class_aware_pruning import ClassAwarePruning
from studies.pruning.loop import PruningPlan

MODEL = {"arch": "cnn", "channels": [16, 32], "epochs": 20}


def run(args: argparse.Namespace, workdir: Path) -> pd.DataFrame:
    lut = run_sweep(SweepConfig(MultiplierSpec(8, True, "array"), "stationary", tuple(range(-128, 128)),
                                vectors=args.vectors), jobs=args.jobs, progress=False)
    rows = []
    for seed in args.seeds:
        context = StudyContext(lut, {}, {**MODEL, "finetune_epochs": args.finetune_epochs}, seed, "cpu", workdir)
        space = ClassAwarePruning.validate({"tau": args.tau, "lambda1": args.lambda1, "lambda2": args.lambda2,
                                            "ratio": 0.5, "iterations": args.iterations}, "space")
        study_kind = ClassAwarePruning(space, context)
        base = study_kind.baseline_figures()
        rows.append({"seed": seed, "method": "baseline", "ratio": 0.0, "val": base.accuracy,
                     "test": base.test_accuracy, "pruned_pct": 0.0, "macs": base.macs,
                     "energy_nJ": base.energy_per_inference_nJ, "seconds": 0.0})
        for method in args.methods:
            regularized = method == "class-aware" or args.regularize_baselines
            for ratio in args.ratios:
                plan = PruningPlan(method=method, ratio=ratio, scope=args.scope, iterations=args.iterations,
                                   tau=args.tau, lambda1=args.lambda1 if regularized else 0.0,
                                   lambda2=args.lambda2 if regularized else 0.0,
                                   regularize_epochs=args.regularize_epochs, finetune_epochs=args.finetune_epochs)
                start = time.perf_counter()
                result = study_kind.prune(plan, seed=seed + 1)
                figures = study_kind.figures(result.model)
                rows.append({"seed": seed, "method": method, "ratio": ratio, "val": figures.accuracy,
                             "test": figures.test_accuracy, "pruned_pct": 100 * result.pruned_fraction,
                             "macs": figures.macs, "energy_nJ": figures.energy_per_inference_nJ,
                             "seconds": time.perf_counter() - start})
                print(f"seed {seed} {method:<11} ratio {ratio:.2f}: val {figures.accuracy:.2f} % "
                      f"test {figures.test_accuracy:.2f} % ({rows[-1]['seconds']:.1f} s)", flush=True)
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per method and ratio; drops and reductions against each seed's own baseline."""
    base = rows[rows["method"] == "baseline"].set_index("seed")
    rows = rows.assign(
        test_drop=rows["test"].to_numpy() - base.loc[rows["seed"], "test"].to_numpy(),
        macs_cut=100 * (1 - rows["macs"].to_numpy() / base.loc[rows["seed"], "macs"].to_numpy()),
        energy_cut=100 * (1 - rows["energy_nJ"].to_numpy() / base.loc[rows["seed"], "energy_nJ"].to_numpy()),
    )
    grouped = rows[rows["method"] != "baseline"].groupby(["ratio", "method"], sort=True)
    table = grouped.agg(val=("val", "mean"), test=("test", "mean"), test_std=("test", "std"),
                        test_drop=("test_drop", "mean"), pruned_pct=("pruned_pct", "mean"),
                        macs_cut_pct=("macs_cut", "mean"), energy_cut_pct=("energy_cut", "mean"))
    return table.round(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=lambda s: [int(v) for v in s.split(",")], default=[0, 1, 2, 3, 4])
    parser.add_argument("--ratios", type=lambda s: [float(v) for v in s.split(",")], default=[0.3, 0.5, 0.7])
    parser.add_argument("--methods", type=lambda s: s.split(","), default=["class-aware", "magnitude", "random"])
    parser.add_argument("--scope", choices=("layer", "global"), default="layer")
    parser.add_argument("--tau", type=float, default=1e-3)
    parser.add_argument("--lambda1", type=float, default=1e-5)
    parser.add_argument("--lambda2", type=float, default=1e-2)
    parser.add_argument("--regularize-baselines", action="store_true")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--regularize-epochs", type=int, default=5)
    parser.add_argument("--finetune-epochs", type=int, default=5)
    parser.add_argument("--vectors", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="folder that caches the trained baselines (default: temporary)")
    parser.add_argument("--csv", type=Path, help="write every run as a row")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        rows = run(args, workdir)
    if args.csv:
        rows.to_csv(args.csv, index=False)
    base = rows[rows["method"] == "baseline"]
    print(f"\nbaseline over seeds {args.seeds}: val {base['val'].mean():.2f} %, test {base['test'].mean():.2f} % "
          f"(± {base['test'].std():.2f}), {int(base['macs'].mean())} MACs, {base['energy_nJ'].mean():.4g} nJ")
    print(f"scope {args.scope}, {args.iterations} rounds, tau {args.tau:g}, lambda1 {args.lambda1:g}, "
          f"lambda2 {args.lambda2:g}; accuracies in %, drops in points against each seed's baseline (test)")
    with pd.option_context("display.width", 160):
        print(summary(rows).to_string())


if __name__ == "__main__":
    main()

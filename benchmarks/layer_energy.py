"""Energy per inference under uniform, one-histogram and per-layer characterization, and how the fronts move.

Usage: .venv/bin/python benchmarks/layer_energy.py [--data digits|mnist] [--arch mlp|cnn|lenet5] [--bits 8]
       [--vectors 1000] [--seeds 0,1,2] [--epochs 20] [--finetune-epochs 2] [--jobs 2] [--device cpu]
       [--out results.json]

For every seed (data split, initialization, training order, recorded
sequences) it trains the quantized baseline of a weight-subset study on digits
or MNIST (`make bench-deps`) and prices it with four cost models of the same
stationary array multiplier: its LUT characterized with uniform random
activations; with activations drawn from the network's one activation
histogram (all layers together); per layer, with that layer's recorded
weight-stationary stream (`[lut] activations = "per-layer"`), and again with
another draw of the stream's segments (the spread between the two is the
characterization's sampling noise); and per layer with zero-skipping (a MAC
with a zero operand costs nothing). It prints each layer's energy and the
total under each model, as a ratio to uniform.

Then the fronts: the baseline restricted to the n lowest-energy weight values
(ranked on the uniform LUT, as the study does) and Deep Compression's k-means
sharing (k values per layer, and magnitude pruning of half the weights first),
each fine-tuned; every network is priced under each cost model. Per cost
model and method it prints the lowest energy (in % of the baseline's under the
same model) among networks within 1 point of the baseline's validation
accuracy, and the mean over seeds with the standard deviation.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from characterize.lut.activations import activation_sequence
from dse.config import load_study_config
from dse.costmodel import CostModel, layer_costs
from dse.runner import characterize_sequence, study_context
from studies.histograms import activation_histogram
from studies.ranking import rank_weights
from studies.session import QuantSession
from studies.sharing import deep_compression

LENET5 = {"arch": "cnn", "channels": [6, 16], "kernel": 5, "padding": ["same", "valid"], "pool": 2, "fc": [120, 84]}
MODELS = ("uniform", "one histogram", "per layer", "per layer, other draw", "per layer + zero skip")
OTHER_DRAW = 1000  # added to the seed for a second draw of the per-layer sequences: the characterization's noise
SUBSET_SIZES = (2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
SHARED_VALUES = (2, 4, 8, 16)
TOLERANCE_POINTS = 1.0


def spread(percentages: list[float]) -> str:
    """Mean ± standard deviation of the seeds that have a network within the tolerance, or "none"."""
    found = np.array([p for p in percentages if not np.isnan(p)])
    if not len(found):
        return "none"
    tail = f" ± {found.std():.1f}" if len(percentages) > 1 else ""
    missing = f" ({len(percentages) - len(found)} seeds without)" if len(found) < len(percentages) else ""
    return f"{found.mean():.1f}{tail} %{missing}"


def study_text(args: argparse.Namespace, seed: int, data: dict) -> str:
    """A weight-subset study file with an inline per-layer LUT."""
    network = LENET5 if args.arch == "lenet5" else {"arch": "cnn", "channels": [16, 32]} if args.arch == "cnn" \
        else {"arch": "mlp", "hidden": [64]}
    model = {**network, "epochs": args.epochs, "finetune_epochs": args.finetune_epochs}
    lines = ["[study]", f'name = "layer-energy-{seed}"', 'kind = "weight-subset"', f"seed = {seed}",
             f'device = "{args.device}"', "[lut]", f"bits = {args.bits}", f"vectors = {args.vectors}",
             f"jobs = {args.jobs}", 'activations = "per-layer"', "[data]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in data.items()]
    lines += ["[model]"] + [f"{key} = {json.dumps(value)}" for key, value in model.items()]
    return "\n".join(lines) + "\n"


def cost_models(session: QuantSession, config, seed: int) -> dict[str, CostModel]:
    """The cost models of one baseline."""
    stats = session.reference().stats
    histogram = activation_histogram(stats)
    total = float(histogram["count"].sum())
    pairs = tuple((int(v), float(c) / total) for v, c in zip(histogram["value"], histogram["count"]) if c > 0)
    high = 2 ** (session.bits - 1) - 1
    drawn = activation_sequence(int(session.lut.meta["vectors"]) + 1, -high - 1, high, seed, pairs)
    one = characterize_sequence(config.lut, drawn)
    per_layer = session.cost_model()
    other = {name: characterize_sequence(config.lut, sequence)
             for name, sequence in session.layer_sequences(seed + OTHER_DRAW).items()}
    return {"uniform": CostModel(session.lut), "one histogram": CostModel(session.lut, {s.name: one for s in stats}),
            "per layer": per_layer, "per layer, other draw": CostModel(session.lut, other),
            "per layer + zero skip": replace(per_layer, zero_skip=True)}


def run_seed(args: argparse.Namespace, seed: int, workdir: Path, data: dict) -> dict:
    folder = workdir / f"seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "study.toml"
    path.write_text(study_text(args, seed, data))
    config = load_study_config(path)
    session = QuantSession(study_context(config, f"sqlite:///{folder}/studies.db"))
    reference = session.reference()
    models = cost_models(session, config, seed)
    layers = {name: {layer.name: layer.energy_J * 1e9 for layer in layer_costs(model, reference.stats)}
              for name, model in models.items()}
    print(f"seed {seed}: baseline validation {reference.accuracy:.2f} %, test {reference.test_accuracy:.2f} %")
    print(f"  {'layer':<12}" + "".join(f"{name:>25}" for name in MODELS))
    for layer in reference.stats:
        uniform = layers["uniform"][layer.name]
        print(f"  {layer.name:<12}" + "".join(
            f"{layers[m][layer.name]:>13.4g} nJ ×{layers[m][layer.name] / uniform:5.3f}" for m in MODELS))
    totals = {m: sum(values.values()) for m, values in layers.items()}
    print(f"  {'total':<12}" + "".join(f"{totals[m]:>13.4g} nJ ×{totals[m] / totals['uniform']:5.3f}" for m in MODELS))

    order = rank_weights(session.lut, session.candidates, "energy")
    networks = {}
    for n in (n for n in SUBSET_SIZES if n <= len(order)):
        networks[("energy-ranked", n)] = session.finetune(np.sort(order[:n]), None, seed + 1 + n)
    for k in SHARED_VALUES:
        networks[("k-means", k)] = deep_compression(session, k, 0.0, None, seed + 100 + k)
        networks[("prune 50 % + k-means", k)] = deep_compression(session, k, 0.5, None, seed + 200 + k)
    points = []
    for (method, n), network in networks.items():
        stats = session.stats(network)
        energy = {m: sum(c.energy_J for c in layer_costs(model, stats)) * 1e9 for m, model in models.items()}
        points.append({"method": method, "n": n, "accuracy": session.accuracy(network),
                       "test_accuracy": session.accuracy(network, "test"),
                       "energy_pct": {m: 100 * energy[m] / totals[m] for m in MODELS}})
    best = {}
    for method in dict.fromkeys(p["method"] for p in points):
        near = [p for p in points if p["method"] == method and p["accuracy"] >= reference.accuracy - TOLERANCE_POINTS]
        best[method] = {m: min((p["energy_pct"][m] for p in near), default=float("nan")) for m in MODELS}
        print(f"  {method:<22} lowest energy within {TOLERANCE_POINTS:g} point: " + ", ".join(
            f"{m} {spread([best[method][m]])}" for m in MODELS))
    return {"seed": seed, "baseline_accuracy": reference.accuracy, "layers": layers, "totals": totals,
            "points": points, "best": best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits", choices=("digits", "mnist"))
    parser.add_argument("--arch", default="mlp", choices=("mlp", "cnn", "lenet5"))
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--vectors", type=int, default=1000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--finetune-epochs", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2, help="processes of the characterization sweeps")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, help="also write the per-seed figures as JSON")
    args = parser.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(1)
    network = "LeNet-5" if args.arch == "lenet5" else args.arch.upper()
    print(f"{args.data}, {network}, {args.bits}-bit stationary array multiplier, {args.vectors} transitions per LUT")
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        data = {"source": "digits"}
        if args.data == "mnist":
            from mnist_data import mnist_study_source
            data = mnist_study_source(Path(workdir))
        for seed in (int(s) for s in args.seeds.split(",")):
            start = time.perf_counter()
            results.append(run_seed(args, seed, Path(workdir), data))
            print(f"  ({time.perf_counter() - start:.0f} s)")
    print(f"mean ± standard deviation over {len(results)} seeds")
    uniform = np.array([r["totals"]["uniform"] for r in results])
    for m in MODELS:
        ratios = np.array([r["totals"][m] for r in results]) / uniform
        print(f"  total energy, {m:<22} ×{ratios.mean():.3f} ± {ratios.std():.3f} of uniform")
    for layer in results[0]["layers"]["uniform"]:
        base = np.array([r["layers"]["uniform"][layer] for r in results])
        print(f"  layer {layer:<12} {base.mean():.4g} ± {base.std():.2g} nJ uniform; " + ", ".join(
            f"{m} ×{(np.array([r['layers'][m][layer] for r in results]) / base).mean():.3f} ± "
            f"{(np.array([r['layers'][m][layer] for r in results]) / base).std():.3f}" for m in MODELS[1:]))
    for method in results[0]["best"]:
        print(f"  {method:<22} lowest energy within {TOLERANCE_POINTS:g} point (% of its baseline): " + ", ".join(
            f"{m} {spread([r['best'][method][m] for r in results])}" for m in MODELS))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""CorrectNet (error suppression and compensation) against noise-injection training under RRAM variation.

Usage: .venv/bin/python benchmarks/variation.py [--data digits|mnist] [--arch mlp|lenet5] [--seeds 0,1,2]
       [--sigma 0.5] [--mapping differential] [--hidden 64,64,64] [--samples 200] [--epochs 30]
       [--finetune-epochs 20] [--compensation-epochs 15] [--device cpu] [--out results.json]

For every seed (data split, initialization, training order and chips) it
trains the plain 4-bit quantized network (an MLP, or LeNet-5) on digits or
MNIST (`make bench-deps`), then, from it: noise-injection
training at σ; the same fine-tuning without any regularizer (β = 0, the
control that separates suppression from mere extra training); suppression
(Lipschitz loss, k = 0.8) for each β of a small grid, the one best on the
validation part kept; and compensation of that
network for each layer choice of a small grid whose MACs stay within the
budget (5 % of the network's), again the best on validation kept. It prints
each network's Monte Carlo accuracy on the test part (mean ± standard error
over chips), in % and as a share of the plain network's variation-free
accuracy, then the mean over seeds. The LUT (4-bit signed array multiplier)
is characterized once and cached; it prices the compensation's digital MACs.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.passes.designs import MultiplierSpec
from dse.kinds import StudyContext
from studies.data import validate_data_settings
from studies.variation.session import Plan, VariationSession

LENET5 = {"arch": "cnn", "channels": [6, 16], "kernel": 5, "padding": ["same", "valid"], "pool": 2, "fc": [120, 84]}

K = 0.8
BETAS = (0.003, 0.01, 0.03, 0.1)
MAC_BUDGET_PCT = 5.0


def compensation_grid(names: list[str]) -> list[dict[str, int]]:
    """Layer choices tried for compensation: the last layer (width 2 or 4), the last two (2), the last three (1)."""
    return [{names[-1]: 2}, {names[-1]: 4}, {name: 2 for name in names[-2:]}, {name: 1 for name in names[-3:]}]


def run_seed(args: argparse.Namespace, lut, seed: int, workdir: str) -> dict[str, tuple[float, float, float]]:
    """Per network: (test accuracy %, Monte Carlo standard error, MAC overhead %) at the study's σ, each printed
    as soon as it is measured."""
    network = LENET5 if args.arch == "lenet5" else {"hidden": args.hidden}
    model = {**network, "epochs": args.epochs, "finetune_epochs": args.finetune_epochs}
    session = VariationSession(StudyContext(lut, args.data_table, model, seed, args.device, workdir), args.mapping,
                               None, args.samples, args.compensation_epochs)
    sigma = args.sigma
    rows: dict[str, tuple[float, float, float]] = {}
    started = time.perf_counter()

    def record(name: str, model, overhead_pct: float = 0.0) -> None:
        result = session.accuracy(model, 0.0 if name == "variation-free" else sigma, "test")
        rows[name] = (result.mean, result.standard_error, overhead_pct)
        share = 100 * result.mean / rows["variation-free"][0]
        print(f"  seed {seed} {name:28s} {result.mean:6.2f} ± {result.standard_error:4.2f} %  "
              f"({share:5.1f} % of variation-free)  MACs +{overhead_pct:.1f} %  "
              f"[{time.perf_counter() - started:.0f} s]", flush=True)

    plain = session.quant.baseline_model()
    record("variation-free", plain)
    record("plain", plain)
    record("noise injection", session.run(Plan("noise-injection", (sigma,)), seed + 1).trained)
    record("fine-tuned, β = 0", session.run(Plan("correctnet", (sigma,), K, 0.0), seed + 1).trained)
    suppressed = max((session.run(Plan("correctnet", (sigma,), K, beta), seed + 1).trained for beta in BETAS),
                     key=lambda m: session.accuracy(m, sigma).mean)
    record("suppression", suppressed)
    names = session.layer_names()
    best = None
    for widths in compensation_grid(names):
        compensated, overhead = session.compensate(suppressed, widths, sigma, seed + 2)
        if overhead.macs_pct > MAC_BUDGET_PCT:
            continue
        score = session.accuracy(compensated, sigma).mean
        if best is None or score > best[0]:
            best = (score, compensated, overhead.macs_pct, widths)
    _, compensated, overhead_pct, widths = best
    print(f"  seed {seed}: compensation {widths}")
    record("suppression + compensation", compensated, overhead_pct)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits", choices=("digits", "mnist"))
    parser.add_argument("--arch", default="mlp", choices=("mlp", "lenet5"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, help="also write the per-seed figures as JSON")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--mapping", default="differential", choices=("differential", "offset"))
    parser.add_argument("--hidden", default="64,64,64")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--finetune-epochs", type=int, default=20)
    parser.add_argument("--compensation-epochs", type=int, default=15)
    args = parser.parse_args()
    args.hidden = [int(v) for v in args.hidden.split(",")]
    if args.device == "cpu":
        torch.set_num_threads(1)
    start = time.perf_counter()
    lut = run_sweep(SweepConfig(MultiplierSpec(4, True, "array"), "stationary", tuple(range(-8, 8)), vectors=500),
                    progress=False)
    print(f"LUT: 4-bit signed array multiplier, {time.perf_counter() - start:.1f} s (cached after the first run)")
    network = "LeNet-5" if args.arch == "lenet5" else f"MLP {args.hidden}"
    print(f"{args.data}, {network}, 4-bit, σ = {args.sigma}, {args.mapping} mapping, {args.samples} chips, "
          f"test part")
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        if args.data == "mnist":
            from mnist_data import mnist_study_source
            args.data_table = validate_data_settings(mnist_study_source(Path(workdir)))
        else:
            args.data_table = validate_data_settings({})
        for seed in (int(s) for s in args.seeds.split(",")):
            rows = run_seed(args, lut, seed, workdir)
            results.append(rows)
    print(f"mean over {len(results)} seeds (± standard error over seeds; mean Monte Carlo standard error):")
    for name in results[0]:
        means = np.array([r[name][0] for r in results])
        ratios = np.array([100 * r[name][0] / r["variation-free"][0] for r in results])
        mc = np.mean([r[name][1] for r in results])
        spread = means.std(ddof=1) / math.sqrt(len(means)) if len(means) > 1 else 0.0
        overhead = np.mean([r[name][2] for r in results])
        print(f"  {name:28s} {means.mean():6.2f} ± {spread:4.2f} % (MC ± {mc:4.2f})  "
              f"{ratios.mean():5.1f} % of variation-free  MACs +{overhead:.1f} %")
    ours, noise = "suppression + compensation", "noise injection"
    recovered = np.mean([100 * r[ours][0] / r["variation-free"][0] for r in results])
    beats = sum(r[ours][0] >= r[noise][0] for r in results)
    print(f"suppression + compensation: {recovered:.1f} % of variation-free accuracy (goal >= 95 %) at "
          f"+{np.mean([r[ours][2] for r in results]):.1f} % MACs (budget {MAC_BUDGET_PCT:g} %); "
          f"at least as accurate as noise injection in {beats} of {len(results)} seeds")
    if args.out:
        args.out.write_text(json.dumps({"settings": {k: v for k, v in vars(args).items() if k != "data_table"},
                                        "per_seed": results}, indent=1, default=str))


if __name__ == "__main__":
    main()

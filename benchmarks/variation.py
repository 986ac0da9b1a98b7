"""CorrectNet (error suppression and compensation) against noise-injection training under RRAM variation.

Usage: .venv/bin/python benchmarks/variation.py [--data digits|mnist] [--arch cnn6|cnn|mlp|lenet5] [--seeds 0,1,2]
       [--sigma 0.5] [--mapping differential] [--hidden 64,64,64] [--mnist-images N] [--samples 200]
       [--epochs 30] [--finetune-epochs 20] [--compensation-epochs 30] [--regularizer orthogonal|spectral]
       [--compensation-loss task|maps] [--device cpu] [--out results.json]

For every seed (data split, initialization, training order and chips) it
trains the plain 4-bit quantized network (by default a six-convolution CNN
with batch normalization, VGG-style, on digits; `cnn` with four
convolutions; an MLP; or LeNet-5 on MNIST, `make bench-deps`), then, from it: noise-injection training at σ; the same
fine-tuning without any regularizer (β = 0, the control that separates
suppression from mere extra training); suppression (Lipschitz loss, k = 0.8,
nominal weights) for each β of a small grid, the one best on the validation
part kept; and compensation of that network (trained under variation) for
each width choice of a small grid whose MACs stay within the budget (5 % of
the network's), again the best on validation kept. It then repeats
suppression with that β under a fresh chip per batch (suppression under
variation), alone and with the same compensation, and gives the
noise-injection network the same compensation. It prints each network's
Monte Carlo accuracy on the test part (mean ± standard error over chips), in
% and as a share of the plain network's variation-free accuracy, then the
mean over seeds. The LUT (4-bit signed array multiplier) is characterized
once and cached; it prices the compensation's digital MACs.
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
from dse.costmodel import macs
from dse.kinds import StudyContext
from studies.data import validate_data_settings
from studies.quant import layer_stats
from studies.training import batches
from studies.variation.compensation import overhead
from studies.variation.session import STATS_BATCH, Plan, VariationSession
from studies.variation.training import train_compensation

NETWORKS = {
    "lenet5": {"arch": "cnn", "channels": [6, 16], "kernel": 5, "padding": ["same", "valid"], "pool": 2,
               "fc": [120, 84]},
    "cnn": {"arch": "cnn", "channels": [16, 16, 32, 32], "pool": [1, 2, 1, 2], "batch_norm": True, "fc": [64]},
    "cnn6": {"arch": "cnn", "channels": [16, 16, 16, 32, 32, 32], "pool": [1, 1, 2, 1, 1, 2], "batch_norm": True,
             "fc": [64]},
}

K = 0.8
BETAS = (0.003, 0.01, 0.03, 0.1)
MAC_BUDGET_PCT = 5.0


def fitted(session: VariationSession, network, width: int) -> dict[str, int]:
    """Compensation of `width` beside every layer, the layer whose compensation costs the most MACs dropped
    until the whole fits the budget."""
    widths = dict.fromkeys(session.layer_names(), width)
    while widths:
        model = train_compensation(network, widths, session.quant.bits, session.quant.dataset.train,
                                   session.variation(0.0), session.schedule(0, 0))
        stats = layer_stats(model, batches(session.quant.dataset.train, STATS_BATCH), session.quant.device)
        if overhead(model, stats, session.lut).macs_pct <= MAC_BUDGET_PCT:
            return widths
        costs = {name: macs([s for s in stats if s.name.startswith(f"compensations.{name}.")]) for name in widths}
        del widths[max(costs, key=costs.get)]
    return widths


def compensation_grid(session: VariationSession, network) -> list[dict[str, int]]:
    """Width choices tried for compensation: every layer at width 1, or 2, each fitted to the budget."""
    return [fitted(session, network, width) for width in (1, 2)]


def run_seed(args: argparse.Namespace, lut, seed: int, workdir: str) -> dict[str, tuple[float, float, float]]:
    """Per network: (test accuracy %, Monte Carlo standard error, MAC overhead %) at the study's σ, each printed
    as soon as it is measured."""
    network = NETWORKS.get(args.arch, {"hidden": args.hidden})
    model = {**network, "epochs": args.epochs, "finetune_epochs": args.finetune_epochs}
    session = VariationSession(StudyContext(lut, args.data_table, model, seed, args.device, workdir), args.mapping,
                               None, args.samples, args.compensation_epochs, args.compensation_loss)
    sigma = args.sigma
    rows: dict[str, tuple[float, float, float]] = {}
    started = time.perf_counter()

    def record(name: str, model, overhead_pct: float = 0.0) -> None:
        result = session.accuracy(model, 0.0 if name == "variation-free" else sigma, "test")
        rows[name] = (result.mean, result.standard_error, overhead_pct)
        share = 100 * result.mean / rows["variation-free"][0]
        print(f"  seed {seed} {name:32s} {result.mean:6.2f} ± {result.standard_error:4.2f} %  "
              f"({share:5.1f} % of variation-free)  MACs +{overhead_pct:.1f} %  "
              f"[{time.perf_counter() - started:.0f} s]", flush=True)

    plain = session.quant.baseline_model()
    record("variation-free", plain)
    record("plain", plain)
    noisy = session.run(Plan("noise-injection", (sigma,)), seed + 1).trained
    record("noise injection", noisy)
    record("fine-tuned, β = 0", session.run(Plan("correctnet", (sigma,), K, 0.0), seed + 1).trained)
    suppressed = {beta: session.run(Plan("correctnet", (sigma,), K, beta, regularizer=args.regularizer),
                                    seed + 1).trained for beta in BETAS}
    beta = max(suppressed, key=lambda b: session.accuracy(suppressed[b], sigma).mean)
    print(f"  seed {seed}: β = {beta}")
    record("suppression", suppressed[beta])
    best = None
    for widths in compensation_grid(session, suppressed[beta]):
        compensated, overhead_ = session.compensate(suppressed[beta], widths, sigma, seed + 2)
        score = session.accuracy(compensated, sigma).mean
        if best is None or score > best[0]:
            best = (score, compensated, overhead_.macs_pct, widths)
    _, compensated, overhead_pct, widths = best
    print(f"  seed {seed}: compensation {widths}")
    record("suppression + compensation", compensated, overhead_pct)
    varied = session.run(Plan("correctnet", (sigma,), K, beta, regularizer=args.regularizer,
                              suppression_variation=True), seed + 1).trained
    record("suppression under variation", varied)
    record("suppr. under var. + compensation", session.compensate(varied, widths, sigma, seed + 2)[0],
           overhead_pct)
    record("noise injection + compensation", session.compensate(noisy, widths, sigma, seed + 2)[0], overhead_pct)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="digits", choices=("digits", "mnist"))
    parser.add_argument("--arch", default="cnn6", choices=("cnn6", "cnn", "mlp", "lenet5"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, help="also write the per-seed figures as JSON")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--mapping", default="differential", choices=("differential", "offset"))
    parser.add_argument("--hidden", default="64,64,64")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--finetune-epochs", type=int, default=20)
    parser.add_argument("--compensation-epochs", type=int, default=30)
    parser.add_argument("--regularizer", default="orthogonal", choices=("orthogonal", "spectral"))
    parser.add_argument("--compensation-loss", default="task", choices=("task", "maps"))
    parser.add_argument("--mnist-images", type=int, help="only the first N MNIST images (default: all 70,000)")
    args = parser.parse_args()
    args.hidden = [int(v) for v in args.hidden.split(",")]
    if args.device == "cpu":
        torch.set_num_threads(1)
    start = time.perf_counter()
    lut = run_sweep(SweepConfig(MultiplierSpec(4, True, "array"), "stationary", tuple(range(-8, 8)), vectors=500),
                    progress=False)
    print(f"LUT: 4-bit signed array multiplier, {time.perf_counter() - start:.1f} s (cached after the first run)")
    network = {"lenet5": "LeNet-5", "cnn": "CNN 16-16-32-32 with batch norm, fc 64",
               "cnn6": "CNN 16-16-16-32-32-32 with batch norm, fc 64"}.get(args.arch, f"MLP {args.hidden}")
    print(f"{args.data}, {network}, 4-bit, σ = {args.sigma}, {args.mapping} mapping, {args.samples} chips, "
          f"{args.regularizer} regularizer, compensation loss {args.compensation_loss}, test part")
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        if args.data == "mnist":
            from mnist_data import mnist_study_source
            args.data_table = validate_data_settings(mnist_study_source(Path(workdir), args.mnist_images))
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
        print(f"  {name:32s} {means.mean():6.2f} ± {spread:4.2f} % (MC ± {mc:4.2f})  "
              f"{ratios.mean():5.1f} % of variation-free  MACs +{overhead:.1f} %")
    noise = "noise injection"
    for ours in ("suppression + compensation", "suppr. under var. + compensation"):
        recovered = np.mean([100 * r[ours][0] / r["variation-free"][0] for r in results])
        beats = sum(r[ours][0] >= r[noise][0] for r in results)
        print(f"{ours}: {recovered:.1f} % of variation-free accuracy (goal >= 95 %) at "
              f"+{np.mean([r[ours][2] for r in results]):.1f} % MACs (budget {MAC_BUDGET_PCT:g} %); "
              f"at least as accurate as noise injection in {beats} of {len(results)} seeds")
    if args.out:
        args.out.write_text(json.dumps({"settings": {k: v for k, v in vars(args).items() if k != "data_table"},
                                        "per_seed": results}, indent=1, default=str))


if __name__ == "__main__":
    main()

"""The logic-area front with a fixed accuracy tolerance against one with the tolerance searched, on digits.

Usage: .venv/bin/python benchmarks/logic_area.py [--seeds 0,1,2] [--trials 20] [--hidden 64] [--epochs 20]

Per seed (data split, training, sampler) the 8-bit quantization-aware MLP is
trained once (cached) and two `logic-area` searches of the same number of TPE
trials run on it: one with `tolerance_points = 1.0` fixed, one with it searched
over [0, 5]. Areas come from the LUT of the embedded 8-bit signed array
multiplier (one simplified multiplier per distinct weight value and layer).
Printed per search and as mean ± standard deviation over seeds: the points on
the front over validation accuracy and logic area, the hypervolume
(reference: the baseline's area and its accuracy minus 10 points, area as a
share of the baseline's) and the span of areas on the front.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import optuna
from joint import mlp_searches, search

from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.passes.designs import MultiplierSpec
from dse.kinds import StudyContext
from dse.pareto import hypervolume, non_dominated
from studies.kinds.logic_area import LogicArea

DIRECTIONS = ("maximize", "minimize")
TOLERANCES = {"tolerance fixed at 1 point": 1.0, "tolerance searched in [0, 5]": [0.0, 5.0]}


def front_figures(result: dict) -> tuple[int, float, float, float]:
    """Front size, hypervolume (accuracy points × share of baseline area), smallest and largest area share (%)."""
    base_area = result["base"]["logic_area_mm2"]
    points = np.column_stack([result["rows"][:, 0], result["rows"][:, 2] / base_area])
    front = np.unique(points[non_dominated(points, DIRECTIONS)], axis=0)
    volume = hypervolume(points, DIRECTIONS, (result["base"]["accuracy"] - 10.0, 1.0))
    return len(front), volume, 100.0 * front[:, 1].min(), 100.0 * front[:, 1].max()


def main() -> None:
    args, model = mlp_searches(__doc__.splitlines()[0], seeds="0,1,2", trials=20, hidden="64")
    lut = run_sweep(SweepConfig(MultiplierSpec(8, True, "array"), "embedded", tuple(range(-128, 128)),
                                vectors=200), progress=False)
    print(f"digits, 8-bit MLP {model['hidden']}, {args.trials} TPE trials per search; fronts over validation "
          f"accuracy and logic area")
    table: dict[str, list[tuple[int, float, float, float]]] = {name: [] for name in TOLERANCES}
    with tempfile.TemporaryDirectory() as workdir:
        for seed in (int(s) for s in args.seeds.split(",")):
            context = StudyContext(lut, {}, model, seed, "cpu", Path(workdir))
            for name, tolerance in TOLERANCES.items():
                space = {"tolerance_points": tolerance, "add_step": 4, "max_rounds": 4}
                result = search(LogicArea, space, context, args.trials, seed, cost="logic_area_mm2",
                                sampler=optuna.samplers.TPESampler(seed=seed))
                size, volume, smallest, largest = front_figures(result)
                table[name].append((size, volume, smallest, largest))
                print(f"  seed {seed} {name:28s} front {size:2d} points, hypervolume {volume:6.3f}, area "
                      f"{smallest:5.1f}-{largest:5.1f} % of baseline", flush=True)
    print("mean ± standard deviation over seeds:")
    for name, rows in table.items():
        values = np.array(rows)
        mean = values.mean(axis=0)
        spread = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(4)
        print(f"  {name:28s} front {mean[0]:4.1f} ± {spread[0]:3.1f} points, hypervolume {mean[1]:6.3f} ± "
              f"{spread[1]:5.3f}, area {mean[2]:5.1f} ± {spread[2]:4.1f} to {mean[3]:5.1f} ± {spread[3]:4.1f} %")


if __name__ == "__main__":
    main()

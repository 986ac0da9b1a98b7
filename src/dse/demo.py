"""The end-to-end demo on embedded defaults: characterize, explore, report — into one folder.

1. Characterize the 8-bit signed array multiplier in both modes (weight held
   at its port, and weight embedded) into LUTs, with plots.
2. Run a `weight-subset` study (PowerPruning) on the stationary LUT and a
   `logic-area` study on the embedded LUT, with an MLP on scikit-learn's digits.
3. Write one Pareto front per study (PNG and CSV) and a short summary.

The study files are written into the folder too, as complete examples.
Everything resumes: a second run reads the LUT cache and the finished trials.
"""

from __future__ import annotations

from pathlib import Path

from cells.files import write_text
from cells.units import reduction_pct
from characterize.lut.report import plot, summarize
from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.passes.designs import MultiplierSpec
from dse.config import load_study_config
from dse.frames import ParetoSummary, pareto_summary, write_csv
from dse.plots import plot_front
from dse.runner import run_study

DEMO_SPEC = MultiplierSpec(8, True, "array")
DEMO_VECTORS = 2000

MODEL = """[data]
source = "digits"

[model]
arch = "mlp"
hidden = [64]
epochs = 20
finetune_epochs = 2
"""

STUDIES = {
    "weight_subset": """[study]
name = "demo-weight-subset"
kind = "weight-subset"
trials = {trials}
seed = {seed}
storage = "sqlite:///studies.db"

[sampler]
name = "nsga2"
population = 8

[[constraints]]                 # trials losing more than 1 point never join the front
metric = "accuracy_drop"
max = 1.0

[lut]
path = "lut_stationary.csv"

{model}
[space]
ranking = ["energy", "delay"]
n_values = [2, {subset_high}]
activation_delay_fraction = [0.6, 1.0]
""",
    "logic_area": """[study]
name = "demo-logic-area"
kind = "logic-area"
trials = {trials}
seed = {seed}
storage = "sqlite:///studies.db"

[sampler]
name = "tpe"

[lut]
path = "lut_embedded.csv"

{model}
[space]
n_values = [2, {area_high}]
tolerance_points = [0.0, 5.0]
max_rounds = 4
add_step = 4
""",
}


def run_demo(out: Path, jobs: int = 2, vectors: int = DEMO_VECTORS, trials: int = 16,
             cache_dir: Path | None = None, spec: MultiplierSpec = DEMO_SPEC, seed: int = 0) -> list[Path]:
    """Run the three steps into `out`; returns the files written.

    `seed` seeds the activation transitions and the studies (data split, training,
    sampler); the studies resume by name, so another seed wants another `out`.
    """
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    summary: list[str] = []
    for mode in ("stationary", "embedded"):
        print(f"characterizing {mode} ...", flush=True)
        lut = run_sweep(SweepConfig(spec, mode, tuple(spec.weights), vectors=vectors, seed=seed), jobs=jobs,
                        cache_dir=cache_dir)
        lut_path, figure = out / f"lut_{mode}.csv", out / f"lut_{mode}.png"
        lut.save(lut_path)
        plot(lut, figure)
        written += [lut_path, figure]
        summary += [f"== LUT, {mode}", summarize(lut), ""]
    for name, template in STUDIES.items():
        study_file = out / f"{name}.toml"
        count = len(spec.weights)
        write_text(study_file, template.format(trials=trials, seed=seed, model=MODEL, subset_high=min(96, count),
                                               area_high=min(64, count)))
        print(f"running study {study_file} ...", flush=True)
        study = run_study(load_study_config(study_file), progress=True)
        front = pareto_summary(study)
        figure, table = out / f"front_{name}.png", out / f"front_{name}.csv"
        plot_front(front, figure)
        write_csv(front.front, table)
        written += [study_file, figure, table]
        summary += [f"== study {study.study_name}", *describe_front(front), ""]
    summary_path = out / "summary.txt"
    write_text(summary_path, "\n".join(summary))
    written.append(summary_path)
    return written


def transcript(out: Path, files: list[Path]) -> str:
    """What `dse demo` prints when it is done: the summary, then the files written."""
    return "\n".join([(out / "summary.txt").read_text(), "wrote:", *(f"  {path}" for path in files)])


def describe_front(front: ParetoSummary) -> list[str]:
    """Baseline and knee point of a study's front, with the changes against the baseline in percent."""
    lines = [f"{len(front.front)} of {len(front.trials)} completed trials on the Pareto front"]
    baseline = front.baseline
    lines.append("baseline: " + ", ".join(f"{o.name} {baseline[o.name]:.4g}" for o in front.objectives if o.name in baseline))
    if front.knee_trial is None:
        return lines
    knee = front.front[front.front["trial"] == front.knee_trial].iloc[0]
    changes = []
    for objective in front.objectives:
        value, base = float(knee[objective.name]), baseline.get(objective.name)
        text = f"{objective.name} {value:.4g}"
        if base:
            text += f" ({-reduction_pct(value, base):+.1f} %)" if objective.direction == "minimize" else f" ({value - base:+.2f})"
        changes.append(text)
    lines.append(f"knee (trial {front.knee_trial}): " + ", ".join(changes))
    for column in ("n_weight_values", "n_values", "voltage_V"):
        if column in knee and knee[column] == knee[column]:
            lines.append(f"knee {column}: {knee[column]:.4g}")
    return lines

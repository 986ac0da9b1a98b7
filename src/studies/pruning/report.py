"""Files of one pruning run: the pruned network, a JSON and text report, class counts as CSV and a histogram plot.

The network is saved as its [model] settings, bit-width, the original indices
of the outputs each unit kept and the state dict, so `load_pruned` rebuilds it
without pickled code; with it the class labels of its outputs and the input
standardization of the data, so the loaded network takes raw inputs and names
the original labels.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from cells.figures import save_figure
from cells.files import atomic_path, write_text
from cells.units import reduction_pct
from dse.costmodel import LayerCost
from studies.data import Dataset
from studies.errors import StudiesError
from studies.models import Classifier, build_model
from studies.pruning.loop import PruneResult, PruningPlan
from studies.pruning.surgery import prunable_units, remove_outputs
from studies.quant import quantize_model

FORMAT_VERSION = 2


@dataclass(frozen=True)
class Figures:
    """Accuracy (%, validation and test), size and cost of one network; energy from the LUT."""

    accuracy: float
    test_accuracy: float
    params: int
    macs: int
    energy_per_inference_nJ: float
    layers: tuple[LayerCost, ...] = ()  # the cost model's per-layer breakdown


def _figures_record(figures: Figures) -> dict:
    """Figures for report.json, the per-layer breakdown by layer name in human units (as trial attributes)."""
    return {**{k: v for k, v in asdict(figures).items() if k != "layers"},
            "layers": {layer.name: layer.figures() for layer in figures.layers}}


def save_pruned(path: Path, result: PruneResult, model_settings: dict, dataset: Dataset, bits: int | None) -> Path:
    """Write the pruned network with what `load_pruned` needs to rebuild it: settings, kept outputs, class
    labels and input standardization."""
    standardization = {} if dataset.mean is None else {"mean": torch.from_numpy(dataset.mean),
                                                        "std": torch.from_numpy(dataset.std)}
    with atomic_path(path) as partial:
        torch.save({"format": FORMAT_VERSION, "model": model_settings, "input_shape": list(dataset.input_shape),
                    "classes": list(dataset.classes), **standardization, "bits": bits,
                    "kept": {name: [int(i) for i in kept] for name, kept in result.kept.items()},
                    "state_dict": result.model.state_dict()}, partial)
    return path


def load_pruned(path: str | Path, device: str = "cpu") -> Classifier:
    """The network `save_pruned` wrote, in eval mode, behind its input standardization: it takes raw inputs, and
    `predict` gives the original class labels."""
    saved = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT_VERSION:
        found = saved.get("format", "unknown") if isinstance(saved, dict) else "unknown"
        raise StudiesError(f"{path}: not a pruned network of format {FORMAT_VERSION} (found format {found}; "
                           "format 1 had no class labels or standardization: run dse prune again)")
    model = build_model(saved["model"], tuple(saved["input_shape"]), len(saved["classes"]))
    if saved["bits"] is not None:
        model = quantize_model(model, saved["bits"])
    model = remove_outputs(model, prunable_units(model), saved["kept"])
    model.load_state_dict(saved["state_dict"])
    return Classifier(model, saved["classes"], saved.get("mean"), saved.get("std")).to(device).eval()


def write_report(out: Path, plan: PruningPlan, result: PruneResult, before: Figures, after: Figures,
                 counts_before: dict[str, np.ndarray], counts_after: dict[str, np.ndarray], n_classes: int) -> dict:
    """Write report.json, report.txt, class_counts.csv and class_counts.png into `out`; return the report."""
    layers = [{"layer": name, "filters": width, "kept": len(result.kept[name]), "pruned": width - len(result.kept[name]),
               "kept_indices": [int(i) for i in result.kept[name]]} for name, width in result.original.items()]
    report = {
        "plan": asdict(plan),
        "layers": layers,
        "pruned_filters_pct": 100.0 * result.pruned_fraction,
        "stopped_by": result.stopped_by,
        "rounds": [asdict(step) for step in result.steps],
        "baseline": _figures_record(before),
        "pruned": _figures_record(after),
        "reduction_pct": {key: reduction_pct(getattr(after, key), getattr(before, key))
                          for key in ("params", "macs", "energy_per_inference_nJ")},
        "class_counts": {"before": {n: c.tolist() for n, c in counts_before.items()},
                         "after": {n: c.tolist() for n, c in counts_after.items()}},
    }
    write_text(out / "report.json", json.dumps(report, indent=2))
    write_text(out / "report.txt", "\n".join(summary_lines(report)) + "\n")
    with atomic_path(out / "class_counts.csv") as partial:
        _counts_table(result, counts_before, counts_after).to_csv(partial, index=False)
    plot_class_counts(counts_before, counts_after, n_classes, out / "class_counts.png")
    return report


def summary_lines(report: dict) -> list[str]:
    """The report as lines of text: per-layer counts, then the figures before and after pruning."""
    plan, before, after, cut = report["plan"], report["baseline"], report["pruned"], report["reduction_pct"]
    energy_before, energy_after = before["energy_per_inference_nJ"], after["energy_per_inference_nJ"]
    headline = (f"method {plan['method']}: {report['pruned_filters_pct']:.1f} % of filters pruned "
                f"(stopped by {report['stopped_by']})")
    lines = [headline, f"{'layer':<12} {'filters':>7} {'kept':>5} {'pruned':>6}"]
    lines += [f"{row['layer']:<12} {row['filters']:>7} {row['kept']:>5} {row['pruned']:>6}" for row in report["layers"]]
    lines.append(f"accuracy      {before['accuracy']:.2f} % -> {after['accuracy']:.2f} % (validation), "
                 f"{before['test_accuracy']:.2f} % -> {after['test_accuracy']:.2f} % (test)")
    lines.append(f"parameters    {before['params']} -> {after['params']} (-{cut['params']:.1f} %)")
    lines.append(f"MACs          {before['macs']} -> {after['macs']} (-{cut['macs']:.1f} %)")
    lines.append(f"energy        {energy_before:.4g} nJ -> {energy_after:.4g} nJ "
                 f"(-{cut['energy_per_inference_nJ']:.1f} %)")
    if after["layers"]:
        lines.append(f"{'layer':<12} {'MACs':>21} {'energy (nJ)':>21} {'weights':>7} {'delay ps':>9} {'area um2':>9}")
    for name, cost in after["layers"].items():
        old = before["layers"].get(name, {"macs": 0.0, "energy_nJ": 0.0})
        lines.append(f"{name:<12} {old['macs']:>9.0f} -> {cost['macs']:<9.0f} {old['energy_nJ']:>9.4g} -> "
                     f"{cost['energy_nJ']:<9.4g} {cost['distinct_weights']:>7.0f} {cost['worst_delay_ps']:>9.0f} "
                     f"{cost['area_um2']:>9.0f}")
    return lines


def _counts_table(result: PruneResult, before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = []
    for name, width in result.original.items():
        kept_at = {int(index): position for position, index in enumerate(result.kept[name])}
        for index in range(width):
            position = kept_at.get(index)
            rows.append({"layer": name, "filter": index, "kept": position is not None,
                         "class_count_before": float(before[name][index]),
                         "class_count_after": np.nan if position is None else float(after[name][position])})
    return pd.DataFrame(rows)


def plot_class_counts(before: dict[str, np.ndarray], after: dict[str, np.ndarray], n_classes: int,
                      path: Path) -> None:
    """Histogram of the filters' class counts before pruning (all filters) and after (the kept ones).

    The axis runs from 0 to n_classes, or further where a score does ("class-taylor" may exceed n_classes)."""
    all_before = np.concatenate(list(before.values()))
    all_after = np.concatenate(list(after.values()))
    top = max(n_classes, math.ceil(max(all_before.max(initial=0.0), all_after.max(initial=0.0))))
    bins = np.linspace(0, top, 2 * top + 1)
    figure = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = figure.subplots()
    ax.hist(all_before, bins=bins, alpha=0.5, color="tab:gray", label=f"before ({len(all_before)} filters)")
    ax.hist(all_after, bins=bins, alpha=0.6, color="tab:blue", label=f"after ({len(all_after)} filters)")
    ax.set_xlabel("classes a filter is important for")
    ax.set_ylabel("filters")
    ax.grid(True, alpha=0.3)
    ax.legend()
    save_figure(figure, path)

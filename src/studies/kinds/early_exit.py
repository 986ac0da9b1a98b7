"""`early-exit`: early exit with class exclusion (Wang, Li and Zhang, AICAS 2024) as a search.

Heads sit at candidate exits after the backbone's MAC layers. Three exit rules
(`method`): class exclusion with a coefficient β per exit, the classic
confidence threshold per exit, and the hybrid of both (exclusion narrows the
classes, confidence among the rest decides). The search chooses the method
(when several are given), which exits to use and their β and thresholds.
Networks with exits are trained once and cached; a trial only runs the exit
rules over cached per-exit outputs, so thousands of trials take seconds.
Objectives are measured on the validation part; the test part gives the
attributes `test_accuracy`, `test_energy_per_inference_nJ`,
`test_macs_per_inference` and the per-exit figures `exit_fraction` (share of
images leaving at each used exit, then at the final classifier),
`excluded_mean` (classes an exit excluded, per image reaching it) and
`excluded_total_mean` (classes excluded up to that exit, same images). The
reference is the study's QAT network without exits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import optuna

from cells.units import NJ_PER_J, reduction_pct
from dse.costmodel import energy_per_inference, macs
from dse.errors import ConfigError
from dse.kinds import Objective, StudyKind
from dse.schema import Field, Section, choices, float_range, integer, list_of, number, one_of
from studies.data import DATA_SETTINGS
from studies.early_exit.confidence import run_confidence
from studies.early_exit.cost import CostTable
from studies.early_exit.exclusion import FINAL_DECISIONS, REFERENCES, ExitOutcome, run_exclusion
from studies.early_exit.heads import HEAD_DEFAULTS
from studies.early_exit.hybrid import run_hybrid
from studies.early_exit.training import HEAD_KINDS, TRAININGS, ExitSession
from studies.models import MODEL_SETTINGS

if TYPE_CHECKING:
    from dse.kinds import StudyContext

METHODS = ("exclusion", "confidence", "hybrid")
PARAMETERS = {"exclusion": ("beta",), "confidence": ("threshold",), "hybrid": ("beta", "threshold")}


def _sorted_exits(values: dict) -> None:
    if values["exits"] is not None:
        values["exits"] = sorted(set(values["exits"]))


class EarlyExit(StudyKind):
    """Search the exit rule, exit positions and β or thresholds per exit over cached per-exit outputs."""

    name: ClassVar[str] = "early-exit"
    objectives: ClassVar[tuple[Objective, ...]] = (
        Objective("accuracy", "maximize", "accuracy (%)"),
        Objective("energy_per_inference_nJ", "minimize", "average energy per inference (nJ)"),
        Objective("macs_per_inference", "minimize", "average MACs per inference"),
    )
    space: ClassVar[Section] = Section({
        "method": Field(choices(METHODS), ["exclusion"]),
        "training": Field(one_of(TRAININGS), "joint"),
        "beta_reference": Field(one_of(REFERENCES), "all"),
        "final_decision": Field(one_of(FINAL_DECISIONS), "unmasked"),
        "hybrid_heads": Field(one_of(HEAD_KINDS), "confidence"),
        "exits": Field(list_of(integer(1), "exit numbers (1, 2, ...)"), None),
        "beta": Field(float_range(0.0, 1.0), [0.0, 1.0]),
        "threshold": Field(float_range(0.0, 1.0), [0.5, 1.0]),
        "hidden": Field(integer(0), HEAD_DEFAULTS["hidden"]),
        "confidence_hidden": Field(integer(0), HEAD_DEFAULTS["confidence_hidden"]),
        "head_pool": Field(integer(1), HEAD_DEFAULTS["head_pool"]),
        "head_epochs": Field(integer(1), HEAD_DEFAULTS["head_epochs"]),
        "pos_weight": Field(number(0, open_bounds=True), HEAD_DEFAULTS["pos_weight"]),
    }, rules=(_sorted_exits,))
    """`method`: exclusion | confidence | hybrid, or a list (searched side by side); `training`: joint (backbone
    and heads together, the authors') | frozen (heads on the QAT backbone); `beta_reference`: all (β relative to the
    largest of all classes, its class re-admitted, the authors') | possible (relative to the classes still possible,
    exclusions final); `final_decision`: unmasked (the authors') | masked (among the classes left); `hybrid_heads`:
    the heads the hybrid rule reads, confidence (softmax) | exclusion (sigmoid); `exits`: exit numbers the search may use (1 = after the
    first MAC layer; default all); `beta`, `threshold`: number or [low, high] in [0, 1]; heads: `hidden` (units per
    class network, 0 = one linear layer), `confidence_hidden` (units of the baseline's classifier, 0 = linear),
    `head_pool` (conv maps averaged to at most this size), `head_epochs` (frozen training), `pos_weight` (weight of
    positives in the exclusion loss, times C - 1)."""
    tables: ClassVar[dict[str, Section]] = {"data": DATA_SETTINGS, "model": MODEL_SETTINGS}

    def __init__(self, settings: dict, context: StudyContext, session: ExitSession | None = None) -> None:
        self.settings = settings
        self.session = session or ExitSession(context, settings, settings["training"])
        candidates = len(self.session.positions)
        if candidates == 0:
            raise ConfigError("model: the backbone has a single MAC layer, so no exit can be placed")
        self.exits = settings["exits"] or list(range(1, candidates + 1))
        if self.exits[-1] > candidates:
            raise ConfigError(f"space.exits: exit {self.exits[-1]} does not exist; the backbone has "
                              f"{candidates} candidate exits (1 to {candidates})")
        self.cost_tables = {method: self._cost_tables(method) for method in settings["method"]}
        stats = self.session.quant.reference().stats
        self.full = {"energy_per_inference_nJ": energy_per_inference(self.session.lut, stats) * NJ_PER_J,
                     "macs_per_inference": float(macs(stats))}

    def heads_of(self, method: str) -> str:
        """The kind of heads (network) `method` reads: its own, or for the hybrid rule the `hybrid_heads` setting."""
        return self.settings["hybrid_heads"] if method == "hybrid" else method

    def _cost_tables(self, method: str) -> tuple[CostTable, CostTable]:
        """Energy (J) and MAC tables of `method`: exclusion heads run whole unless β looks at possible classes only."""
        heads = self.heads_of(method)
        costs = self.session.costs(heads)
        if heads == "exclusion" and self.settings["beta_reference"] == "all":
            return costs.energy_J.whole_heads(), costs.macs.whole_heads()
        return costs.energy_J, costs.macs

    def baseline(self) -> dict[str, float]:
        reference = self.session.quant.reference()
        return {"accuracy": reference.accuracy, "test_accuracy": reference.test_accuracy, **self.full}

    def suggest(self, trial: optuna.Trial) -> tuple[str, list[int], dict[str, list[float]]]:
        """The method, the used exits (0-based candidate indices) and their β and/or thresholds."""
        methods = self.settings["method"]
        method = methods[0] if len(methods) == 1 else trial.suggest_categorical("method", methods)
        used: list[int] = []
        values: dict[str, list[float]] = {parameter: [] for parameter in PARAMETERS[method]}
        for n in self.exits:
            on = trial.suggest_categorical(f"exit{n}", [True, False])
            drawn = {}
            for parameter in PARAMETERS[method]:
                low, high = self.settings[parameter]
                drawn[parameter] = low if low == high else trial.suggest_float(f"{parameter}{n}", low, high)
            if on:
                used.append(n - 1)
                for parameter, value in drawn.items():
                    values[parameter].append(value)
        return method, used, values

    def run(self, method: str, used: list[int], values: dict[str, list[float]],
            split: str) -> tuple[ExitOutcome, dict]:
        """Outcome and figures (accuracy %, mean energy nJ, mean MACs) of one configuration on one data part."""
        outputs = self.session.outputs(self.heads_of(method), split)
        probabilities = [outputs.probabilities[k] for k in used]
        reference, final = self.settings["beta_reference"], self.settings["final_decision"]
        if method == "exclusion":
            outcome = run_exclusion(probabilities, values["beta"], outputs.final_logits, reference, final)
        elif method == "confidence":
            outcome = run_confidence(probabilities, values["threshold"], outputs.final_logits)
        else:
            outcome = run_hybrid(probabilities, [outputs.logits[k] for k in used], values["beta"],
                                 values["threshold"], outputs.final_logits, reference, final)
        energy, count = self.cost_tables[method]
        return outcome, {
            "accuracy": 100.0 * float(np.mean(outcome.prediction == outputs.labels)),
            "energy_per_inference_nJ": float(energy.select(used).per_image(outcome).mean()) * NJ_PER_J,
            "macs_per_inference": float(count.select(used).per_image(outcome).mean()),
        }

    def evaluate(self, trial: optuna.Trial) -> dict[str, float]:
        method, used, values = self.suggest(trial)
        _, figures = self.run(method, used, values, "val")
        test, test_figures = self.run(method, used, values, "test")
        base = self.baseline()
        trial.set_user_attr("method", method)
        trial.set_user_attr("exits", [k + 1 for k in used])
        trial.set_user_attr("exit_after", [self.session.exit_label(k) for k in used])
        for parameter, chosen in values.items():
            trial.set_user_attr(parameter, [float(v) for v in chosen])
        trial.set_user_attr("energy_reduction_pct", reduction_pct(figures["energy_per_inference_nJ"],
                                                                  base["energy_per_inference_nJ"]))
        for name, value in test_figures.items():
            trial.set_user_attr(f"test_{name}", value)
        trial.set_user_attr("exit_fraction", test.exit_fractions().tolist())
        trial.set_user_attr("excluded_mean", _plain(test.excluded_means()))
        trial.set_user_attr("excluded_total_mean", _plain(test.excluded_total_means()))
        return {**figures, "accuracy_drop": base["accuracy"] - figures["accuracy"]}


def _plain(values: np.ndarray) -> list[float | None]:
    """Floats for JSON, None where no image reached an exit."""
    return [None if np.isnan(v) else float(v) for v in values]

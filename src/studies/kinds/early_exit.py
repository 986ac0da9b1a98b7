"""`early-exit`: early exit with class exclusion (Wang, Li and Zhang, AICAS 2024) as a search.

Heads sit at candidate exits after the backbone's MAC layers. The search
chooses which exits to use and, per exit, the exclusion coefficient β (or,
for the confidence-threshold baseline in the same harness, the threshold).
Backbone and heads are trained once and cached; a trial only runs the exit
rules over cached per-exit outputs, so thousands of trials take seconds.
Objectives are measured on the validation part; the test part gives the
attributes `test_accuracy`, `test_energy_per_inference_nJ`,
`test_macs_per_inference` and the per-exit figures `exit_fraction` (share of
images leaving at each used exit, then at the final classifier),
`excluded_mean` (classes an exit excluded, per image reaching it) and
`excluded_total_mean` (classes excluded up to that exit, same images).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import optuna

from cells.units import NJ_PER_J, reduction_pct
from dse.errors import ConfigError
from dse.kinds import Objective, StudyKind
from dse.schema import Field, Section, choices, float_range, integer, list_of
from studies.data import DATA_SETTINGS
from studies.early_exit.confidence import run_confidence
from studies.early_exit.exclusion import ExitOutcome, run_exclusion
from studies.early_exit.heads import HEAD_DEFAULTS
from studies.early_exit.training import ExitSession
from studies.models import MODEL_SETTINGS

if TYPE_CHECKING:
    from dse.kinds import StudyContext

METHODS = ("exclusion", "confidence")
PARAMETER = {"exclusion": "beta", "confidence": "threshold"}


def _sorted_exits(values: dict) -> None:
    if values["exits"] is not None:
        values["exits"] = sorted(set(values["exits"]))


class EarlyExit(StudyKind):
    """Search exit positions and β per exit (or the baseline's thresholds) over cached per-exit outputs."""

    name: ClassVar[str] = "early-exit"
    objectives: ClassVar[tuple[Objective, ...]] = (
        Objective("accuracy", "maximize", "accuracy (%)"),
        Objective("energy_per_inference_nJ", "minimize", "average energy per inference (nJ)"),
        Objective("macs_per_inference", "minimize", "average MACs per inference"),
    )
    space: ClassVar[Section] = Section({
        "method": Field(choices(METHODS), ["exclusion"]),
        "exits": Field(list_of(integer(1), "exit numbers (1, 2, ...)"), None),
        "beta": Field(float_range(0.0, 1.0), [0.0, 1.0]),
        "threshold": Field(float_range(0.0, 1.0), [0.5, 1.0]),
        **{key: Field(integer(1), default) for key, default in HEAD_DEFAULTS.items()},
    }, rules=(_sorted_exits,))
    """`method`: exclusion | confidence, or both (searched); `exits`: exit numbers the search may use (1 = after
    the first MAC layer; default all); `beta`, `threshold`: number or [low, high] in [0, 1]; heads: `hidden`
    (units per class network), `confidence_hidden` (units of the baseline's classifier), `head_pool` (conv maps
    averaged to at most this size), `head_epochs`."""
    tables: ClassVar[dict[str, Section]] = {"data": DATA_SETTINGS, "model": MODEL_SETTINGS}

    def __init__(self, settings: dict, context: StudyContext) -> None:
        self.settings = settings
        self.session = ExitSession(context, settings)
        candidates = len(self.session.positions)
        if candidates == 0:
            raise ConfigError("model: the backbone has a single MAC layer, so no exit can be placed")
        self.exits = settings["exits"] or list(range(1, candidates + 1))
        if self.exits[-1] > candidates:
            raise ConfigError(f"space.exits: exit {self.exits[-1]} does not exist; the backbone has "
                              f"{candidates} candidate exits (1 to {candidates})")
        self.costs = self.session.costs()

    def baseline(self) -> dict[str, float]:
        reference = self.session.quant.reference()
        return {"accuracy": reference.accuracy, "test_accuracy": reference.test_accuracy,
                "energy_per_inference_nJ": float(self.costs.exclusion_energy_J.backbone[-1]) * NJ_PER_J,
                "macs_per_inference": float(self.costs.exclusion_macs.backbone[-1])}

    def _suggest(self, trial: optuna.Trial) -> tuple[str, list[int], list[float]]:
        """The method, the used exits (0-based candidate indices) and their coefficients or thresholds."""
        methods = self.settings["method"]
        method = methods[0] if len(methods) == 1 else trial.suggest_categorical("method", methods)
        parameter = PARAMETER[method]
        low, high = self.settings[parameter]
        used, values = [], []
        for n in self.exits:
            on = trial.suggest_categorical(f"exit{n}", [True, False])
            value = low if low == high else trial.suggest_float(f"{parameter}{n}", low, high)
            if on:
                used.append(n - 1)
                values.append(value)
        return method, used, values

    def run(self, method: str, used: list[int], values: list[float], split: str) -> tuple[ExitOutcome, dict]:
        """Outcome and figures (accuracy %, mean energy nJ, mean MACs) of one configuration on one data part."""
        outputs = self.session.outputs(split)
        if method == "exclusion":
            outcome = run_exclusion([outputs.exclusion[k] for k in used], values, outputs.final_logits)
            energy, count = self.costs.exclusion_energy_J, self.costs.exclusion_macs
        else:
            outcome = run_confidence([outputs.confidence[k] for k in used], values, outputs.final_logits)
            energy, count = self.costs.confidence_energy_J, self.costs.confidence_macs
        return outcome, {
            "accuracy": 100.0 * float(np.mean(outcome.prediction == outputs.labels)),
            "energy_per_inference_nJ": float(energy.select(used).per_image(outcome).mean()) * NJ_PER_J,
            "macs_per_inference": float(count.select(used).per_image(outcome).mean()),
        }

    def evaluate(self, trial: optuna.Trial) -> dict[str, float]:
        method, used, values = self._suggest(trial)
        _, figures = self.run(method, used, values, "val")
        test, test_figures = self.run(method, used, values, "test")
        base = self.baseline()
        trial.set_user_attr("method", method)
        trial.set_user_attr("exits", [k + 1 for k in used])
        trial.set_user_attr("exit_after", [self.session.exit_label(k) for k in used])
        trial.set_user_attr(PARAMETER[method], [float(v) for v in values])
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

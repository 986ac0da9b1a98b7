"""`weight-subset`: PowerPruning (Petri et al., DAC 2023) as a search.

Allow only the weight values with the lowest energy per operation or the
shortest sensitized delay (or any values the sampler picks), and only the
activation values whose worst sensitized delay with those weights stays under
a threshold; fine-tune the quantized network under both sets. The slack
between the unrestricted network's worst sensitized delay (the clock period)
and the restricted one lets the supply voltage drop, and power with it.
The accuracy objective is measured on the validation part, which the search
sees; the test accuracy is kept as the trial attribute `test_accuracy`.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import optuna

from cells.units import S_PER_PS, reduction_pct
from dse.costmodel import CostReport, cost_report, worst_delay
from dse.kinds import Objective, StudyKind
from dse.schema import Field, Section, choices, float_range, int_range
from studies.data import DATA_SETTINGS
from studies.errors import StudiesError
from studies.kinds._ranking import allowed_activations, n_values_range, rank_weights
from studies.models import MODEL_SETTINGS
from studies.quant import signed_levels
from studies.session import QuantSession

if TYPE_CHECKING:
    from torch import nn

    from dse.kinds import StudyContext

RANKINGS = ("energy", "delay", "free")


class WeightSubset(StudyKind):
    """Search the allowed weight values (how many, ranked how) and the activation delay threshold."""

    name: ClassVar[str] = "weight-subset"
    objectives: ClassVar[tuple[Objective, ...]] = (
        Objective("accuracy", "maximize", "accuracy (%)"),
        Objective("energy_per_inference_nJ", "minimize", "energy per inference (nJ)"),
        Objective("power_scaled_uW", "minimize", "power after voltage scaling (µW)"),
    )
    space: ClassVar[Section] = Section({
        "ranking": Field(choices(RANKINGS), ["energy"]),
        "n_values": Field(int_range(1), None),
        "activation_delay_fraction": Field(float_range(0.0, 1.0), [0.6, 1.0]),
    })
    """`ranking`: energy | delay | free, or a list searched over; `n_values`: [low, high] values kept by a ranking
    (default 1 to all); `activation_delay_fraction`: threshold over the clock period, [low, high]."""
    tables: ClassVar[dict[str, Section]] = {"data": DATA_SETTINGS, "model": MODEL_SETTINGS}

    @classmethod
    def grid_space(cls, settings: dict) -> dict[str, list] | None:
        fraction = settings["activation_delay_fraction"]
        if "free" in settings["ranking"] or settings["n_values"] is None or fraction[0] != fraction[1]:
            return None
        low, high = settings["n_values"]
        space: dict[str, list] = {"n_values": list(range(low, high + 1))}
        if len(settings["ranking"]) > 1:
            space["ranking"] = list(settings["ranking"])
        return space

    def __init__(self, settings: dict, context: StudyContext, session: QuantSession | None = None) -> None:
        self.settings = settings
        self.lut = context.lut
        self.session = session or QuantSession(context)
        candidates = self.session.candidates
        self.n_values = n_values_range(settings["n_values"], len(candidates))
        self.orders = {by: rank_weights(self.lut, candidates, by) for by in ("energy", "delay")}

    @cached_property
    def baseline_cost(self) -> CostReport:
        """Cost of the unrestricted network; its worst sensitized delay is the clock period and delay budget."""
        stats = self.session.reference().stats
        period = worst_delay(self.lut, stats)
        if period <= 0:
            raise StudiesError("the LUT gives the unrestricted network no positive sensitized delay; "
                               "voltage scaling needs one")
        return cost_report(self.lut, stats, period_s=period)

    def baseline(self) -> dict[str, float]:
        figures = self.baseline_cost.figures()
        reference = self.session.reference()
        return {"accuracy": reference.accuracy, "test_accuracy": reference.test_accuracy,
                "energy_per_inference_nJ": figures["energy_per_inference_nJ"],
                "power_scaled_uW": figures["power_scaled_uW"]}

    def cost(self, model: nn.Module, activations: np.ndarray | None) -> CostReport:
        """Hardware figures of a (restricted, fine-tuned) network at the unrestricted network's clock period."""
        return cost_report(self.lut, self.session.stats(model), period_s=self.baseline_cost.period_s,
                           allowed_activations=activations)

    def suggest_weights(self, trial: optuna.Trial) -> np.ndarray:
        rankings = self.settings["ranking"]
        ranking = rankings[0] if len(rankings) == 1 else trial.suggest_categorical("ranking", rankings)
        if ranking == "free":
            candidates = self.session.candidates
            chosen = [int(v) for v in candidates if trial.suggest_categorical(f"w{int(v)}", [True, False])]
            if not chosen:
                raise optuna.TrialPruned("no weight value was chosen")
            return np.array(chosen, dtype=np.int64)
        count = trial.suggest_int("n_values", *self.n_values)
        return np.sort(self.orders[ranking][:count])

    def suggest_activations(self, trial: optuna.Trial, weights: np.ndarray, period_s: float) -> np.ndarray | None:
        if self.lut.activations is None:
            return None
        low, high = self.settings["activation_delay_fraction"]
        fraction = low if low == high else trial.suggest_float("activation_delay_fraction", low, high)
        levels = signed_levels(self.session.bits)
        allowed = allowed_activations(self.lut, weights, levels, fraction * period_s / S_PER_PS)
        if not (allowed >= 0).any():
            raise optuna.TrialPruned(f"no non-negative activation fits {fraction:.3f} of the clock period")
        return allowed

    def evaluate(self, trial: optuna.Trial) -> dict[str, float]:
        reference = self.session.reference()
        base = self.baseline_cost
        weights = self.suggest_weights(trial)
        activations = self.suggest_activations(trial, weights, base.period_s)
        model = self.session.finetune(weights, activations, seed=self.session.seed + 1 + trial.number)
        accuracy = self.session.accuracy(model)
        report = self.cost(model, activations)
        figures = report.figures()
        trial.set_user_attr("n_weight_values", len(weights))
        trial.set_user_attr("allowed_weights", [int(w) for w in weights])
        if activations is not None:
            trial.set_user_attr("n_activation_values", len(activations))
        trial.set_user_attr("energy_reduction_pct", reduction_pct(report.energy_per_inference_J,
                                                                  base.energy_per_inference_J))
        trial.set_user_attr("power_reduction_pct", reduction_pct(report.power_scaled_W, base.power_scaled_W))
        trial.set_user_attr("voltage_V", report.voltage_V)
        trial.set_user_attr("worst_delay_ps", figures["worst_delay_ps"])
        trial.set_user_attr("timing_met", report.timing_met)
        trial.set_user_attr("test_accuracy", self.session.accuracy(model, "test"))
        return {"accuracy": accuracy,
                "energy_per_inference_nJ": figures["energy_per_inference_nJ"],
                "power_scaled_uW": figures["power_scaled_uW"],
                "accuracy_drop": reference.accuracy - accuracy}

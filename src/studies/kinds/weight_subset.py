"""`weight-subset`: PowerPruning (Petri et al., DAC 2023) as a search.

Allow only the weight values with the lowest energy per operation or the
shortest sensitized delay (or any values the sampler picks), and only the
activation values whose worst sensitized delay with those weights stays under
a threshold; fine-tune the quantized network under both sets. The slack
between the unrestricted network's worst sensitized delay (the clock period)
and the restricted one lets the supply voltage drop, and power with it.
The accuracy objective is measured on the validation part, which the search
sees; the test accuracy is kept as the trial attribute `test_accuracy`.

`ranking = "kmeans"` runs Deep Compression's weight sharing instead
(`studies.sharing`): `n_values` is then the number of shared values (k-means
clusters) per layer, `prune_fraction` the share of each layer's weights
pruned by magnitude first, and activations are not restricted.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import optuna
from torch import nn

from cells.units import S_PER_PS, reduction_pct
from dse.costmodel import CostReport, cost_report, worst_delay
from dse.kinds import Objective, StudyKind
from dse.schema import Field, Invalid, Section, choices, float_range, int_range
from studies.data import DATA_SETTINGS
from studies.errors import StudiesError
from studies.models import MODEL_SETTINGS
from studies.quant import quant_layers, signed_levels
from studies.ranking import allowed_activations, n_values_range, rank_weights
from studies.session import QuantSession
from studies.sharing import deep_compression

if TYPE_CHECKING:
    from dse.kinds import StudyContext

RANKINGS = ("energy", "delay", "free", "kmeans")


def _prune_with_kmeans(values: dict) -> None:
    if values["prune_fraction"] != [0.0, 0.0] and "kmeans" not in values["ranking"]:
        raise Invalid('prunes before weight sharing: it applies with ranking = "kmeans" only', "prune_fraction")


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
        "prune_fraction": Field(float_range(0.0, 0.99), [0.0, 0.0]),
    }, rules=(_prune_with_kmeans,))
    """`ranking`: energy | delay | free | kmeans, or a list searched over; `n_values`: [low, high] values kept by a
    ranking, or shared values per layer for kmeans (default 1 to all); `activation_delay_fraction`: threshold over
    the clock period, [low, high]; `prune_fraction`: share of each layer's weights pruned by magnitude before
    k-means sharing, [low, high] (default 0: sharing only)."""
    tables: ClassVar[dict[str, Section]] = {"data": DATA_SETTINGS, "model": MODEL_SETTINGS}
    layer_costs: ClassVar[bool] = True

    @classmethod
    def grid_space(cls, settings: dict) -> dict[str, list] | None:
        fraction = settings["activation_delay_fraction"]
        pruned = settings["prune_fraction"]
        if "free" in settings["ranking"] or settings["n_values"] is None or fraction[0] != fraction[1] \
                or pruned[0] != pruned[1]:
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
        return cost_report(self.session.cost_model(), stats, period_s=period)

    def baseline(self) -> dict[str, float]:
        figures = self.baseline_cost.figures()
        reference = self.session.reference()
        return {"accuracy": reference.accuracy, "test_accuracy": reference.test_accuracy,
                "energy_per_inference_nJ": figures["energy_per_inference_nJ"],
                "power_scaled_uW": figures["power_scaled_uW"], **self.baseline_cost.layer_figures()}

    def cost(self, model: nn.Module, activations: np.ndarray | None) -> CostReport:
        """Hardware figures of a (restricted, fine-tuned) network at the unrestricted network's clock period."""
        return cost_report(self.session.cost_model(), self.session.stats(model),
                           period_s=self.baseline_cost.period_s, allowed_activations=activations)

    def suggest_ranking(self, trial: optuna.Trial) -> str:
        rankings = self.settings["ranking"]
        return rankings[0] if len(rankings) == 1 else trial.suggest_categorical("ranking", rankings)

    def suggest_weights(self, trial: optuna.Trial, ranking: str | None = None) -> np.ndarray:
        """The allowed weight values of a LUT ranking or a free choice (`ranking`, or suggested on `trial`)."""
        ranking = ranking or self.suggest_ranking(trial)
        if ranking == "kmeans":
            raise StudiesError('ranking "kmeans" shares weights per layer and gives no one allowed weight set')
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

    def _trial_network(self, trial: optuna.Trial, period_s: float) -> tuple[nn.Module, np.ndarray | None,
                                                                            np.ndarray | None]:
        """The trial's fine-tuned network, its allowed weights (None after k-means: whatever the layers share) and
        allowed activations (None: all)."""
        ranking = self.suggest_ranking(trial)
        seed = self.session.seed + 1 + trial.number
        if ranking == "kmeans":
            low, high = self.settings["prune_fraction"]
            pruned = low if low == high else trial.suggest_float("prune_fraction", low, high)
            k = trial.suggest_int("n_values", *self.n_values)
            return deep_compression(self.session, k, pruned, None, seed), None, None
        weights = self.suggest_weights(trial, ranking)
        activations = self.suggest_activations(trial, weights, period_s)
        return self.session.finetune(weights, activations, seed=seed), weights, activations

    def evaluate(self, trial: optuna.Trial) -> dict[str, float]:
        reference = self.session.reference()
        base = self.baseline_cost
        model, weights, activations = self._trial_network(trial, base.period_s)
        accuracy = self.session.accuracy(model)
        if weights is None:
            weights = np.unique(np.concatenate([layer.integer_weights().ravel() for _, layer in quant_layers(model)]))
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
                "accuracy_drop": reference.accuracy - accuracy, **report.layer_figures()}

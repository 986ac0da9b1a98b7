"""`joint`: pruning, weight subsets and early exit searched together, under one cost model.

A trial prunes the cached quantized baseline as the `[space.pruning]` table
says (method, ratio overall or per layer, rounds; the `class-aware-pruning`
kind's settings), then restricts the pruned network to a weight subset and an
activation delay threshold as `[space.weights]` says (the `weight-subset`
kind's settings) and fine-tunes it. With a `[space.exit]` table (the
`early-exit` kind's keys), exit heads are then trained on the frozen features
of that network and the trial chooses the exit rule, exits and β or
thresholds; accuracy and energy per inference are then those of the network
with exits (the heads use every weight value of the LUT's bit-width and are
priced by the LUT like any MAC). One cost model prices the result: LUT
energy per inference of the remaining MACs, the embedded multipliers' area,
the worst sensitized delay and the power after voltage scaling against the
unpruned, unrestricted network's clock period. Each sub-table's searched
values are stored as parameters named `pruning.<key>`, `weights.<key>` and `exit.<key>`, so
the single-knob studies' fronts and this one compare on the same figures and
one sees whether the knobs compound. Accuracy is measured on the validation
part; the test accuracy is kept as the trial attribute `test_accuracy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from cells.units import UM2_PER_MM2, reduction_pct
from dse.kinds import Objective, StudyKind
from dse.errors import ConfigError
from dse.schema import Field, Invalid, Section
from studies.data import DATA_SETTINGS
from studies.early_exit.training import ExitSession
from studies.kinds.class_aware_pruning import ClassAwarePruning
from studies.kinds.early_exit import EarlyExit
from studies.kinds.weight_subset import WeightSubset
from studies.models import MODEL_SETTINGS
from studies.session import QuantSession

if TYPE_CHECKING:
    import optuna
    from torch import nn

    from dse.kinds import StudyContext


def _sub_table(section: Section, default: dict | None) -> Field:
    """A [space.<name>] table checked by another kind's schema; errors name the key below it. A None default
    leaves the table out (its knob off)."""

    def check(value: Any) -> dict:
        try:
            return section.check(value)
        except Invalid as exc:
            raise Invalid(exc.reason, f".{exc.path}") from None

    return Field(check, None if default is None else section.check(default))


class PrefixedTrial:
    """A trial seen through a prefix: every parameter and attribute a sub-kind sets is named `<prefix>.<name>`."""

    def __init__(self, trial: optuna.Trial, prefix: str):
        self._trial = trial
        self._prefix = prefix

    def suggest_int(self, name: str, *args: Any, **kwargs: Any) -> int:
        return self._trial.suggest_int(f"{self._prefix}.{name}", *args, **kwargs)

    def suggest_float(self, name: str, *args: Any, **kwargs: Any) -> float:
        return self._trial.suggest_float(f"{self._prefix}.{name}", *args, **kwargs)

    def suggest_categorical(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._trial.suggest_categorical(f"{self._prefix}.{name}", *args, **kwargs)

    def set_user_attr(self, key: str, value: Any) -> None:
        self._trial.set_user_attr(f"{self._prefix}.{key}", value)

    @property
    def number(self) -> int:
        return self._trial.number


class Joint(StudyKind):
    """Search pruning and the allowed weight and activation values of one network together."""

    name: ClassVar[str] = "joint"
    objectives: ClassVar[tuple[Objective, ...]] = (
        Objective("accuracy", "maximize", "accuracy (%)"),
        Objective("energy_per_inference_nJ", "minimize", "energy per inference (nJ)"),
        Objective("power_scaled_uW", "minimize", "power after voltage scaling (µW)"),
        Objective("logic_area_mm2", "minimize", "logic area (mm²)"),
    )
    space: ClassVar[Section] = Section({
        "pruning": _sub_table(ClassAwarePruning.space, {"method": "magnitude", "ratio": [0.0, 0.7],
                                                         "iterations": 2, "regularize_epochs": 0}),
        "weights": _sub_table(WeightSubset.space, {}),
        "exit": _sub_table(EarlyExit.space, None),
    })
    """`[space.pruning]`: the `class-aware-pruning` kind's keys (default: magnitude pruning of 0 to 70 % of the
    filters in 2 rounds); `[space.weights]`: the `weight-subset` kind's keys (default: 1 to all weight values
    ranked by energy, activation threshold 0.6 to 1 of the clock period); `[space.exit]`: the `early-exit` kind's
    keys, `training = "frozen"` only (default: no early exit)."""
    tables: ClassVar[dict[str, Section]] = {"data": DATA_SETTINGS, "model": MODEL_SETTINGS}
    layer_costs: ClassVar[bool] = True

    @classmethod
    def validate(cls, settings: dict, where: str) -> dict:
        values = super().validate(settings, where)
        if "kmeans" in values["weights"]["ranking"]:
            raise ConfigError(f'{where}.weights.ranking: "kmeans" shares weights per layer, with no one allowed '
                              f"weight set to prune and restrict with; use energy, delay or free")
        if values["exit"] is not None:
            if settings["exit"].get("training", "frozen") != "frozen":
                raise ConfigError(f"{where}.exit.training: exit heads are trained on each trial's pruned and "
                                  f"restricted network, so only \"frozen\" applies")
            values["exit"]["training"] = "frozen"
        return values

    def __init__(self, settings: dict, context: StudyContext) -> None:
        self.context = context
        self.exit_settings = settings["exit"]
        self.session = QuantSession(context)
        self.pruning = ClassAwarePruning(settings["pruning"], context, self.session)
        self.weights = WeightSubset(settings["weights"], context, self.session)
        self.lut = context.lut

    def baseline(self) -> dict[str, float]:
        figures = self.weights.baseline()
        cost = self.weights.baseline_cost
        return {**figures, "logic_area_mm2": cost.area_um2 / UM2_PER_MM2, "macs": float(cost.macs)}

    def evaluate(self, trial: optuna.Trial) -> dict[str, float]:
        seed = self.session.seed + 1 + trial.number
        pruning_trial = PrefixedTrial(trial, "pruning")
        plan = self.pruning.plan(pruning_trial)
        pruned = self.pruning.prune(plan, self.pruning.training(seed))
        weights_trial = PrefixedTrial(trial, "weights")
        base = self.weights.baseline_cost
        weights = self.weights.suggest_weights(weights_trial)
        activations = self.weights.suggest_activations(weights_trial, weights, base.period_s)
        model = self.session.finetune(weights, activations, seed=seed, start=pruned.model)
        report = self.weights.cost(model, activations)
        figures = report.figures()
        accuracy, energy_nJ = self.session.accuracy(model), figures["energy_per_inference_nJ"]
        test_accuracy = self.session.accuracy(model, "test")
        if self.exit_settings is not None:
            accuracy, energy_nJ, test_accuracy = self._exit(PrefixedTrial(trial, "exit"), model)
        trial.set_user_attr("pruned_filters_pct", 100.0 * pruned.pruned_fraction)
        trial.set_user_attr("kept_per_layer", {name: len(kept) for name, kept in pruned.kept.items()})
        trial.set_user_attr("n_weight_values", len(weights))
        trial.set_user_attr("allowed_weights", [int(w) for w in weights])
        if activations is not None:
            trial.set_user_attr("n_activation_values", len(activations))
        for name in ("macs", "worst_delay_ps", "voltage_V"):
            trial.set_user_attr(name, figures[name])
        trial.set_user_attr("timing_met", report.timing_met)
        trial.set_user_attr("energy_without_exits_nJ", figures["energy_per_inference_nJ"])
        trial.set_user_attr("energy_reduction_pct",
                            reduction_pct(energy_nJ, base.figures()["energy_per_inference_nJ"]))
        trial.set_user_attr("power_reduction_pct", reduction_pct(report.power_scaled_W, base.power_scaled_W))
        trial.set_user_attr("test_accuracy", test_accuracy)
        return {"accuracy": accuracy,
                "energy_per_inference_nJ": energy_nJ,
                "power_scaled_uW": figures["power_scaled_uW"],
                "logic_area_mm2": report.area_um2 / UM2_PER_MM2,
                "accuracy_drop": self.session.reference().accuracy - accuracy, **report.layer_figures()}

    def _exit(self, trial: PrefixedTrial, model: nn.Module) -> tuple[float, float, float]:
        """Heads on `model`'s frozen features, one exit configuration suggested on `trial`: validation accuracy
        (%), mean energy per inference (nJ) and test accuracy (%) of the network with exits."""
        session = ExitSession(self.context, self.exit_settings, "frozen", quant=self.session, backbone=model)
        exits = EarlyExit(self.exit_settings, self.context, session)
        method, used, values = exits.suggest(trial)
        _, figures = exits.run(method, used, values, "val")
        test, test_figures = exits.run(method, used, values, "test")
        trial.set_user_attr("method", method)
        trial.set_user_attr("exits", [k + 1 for k in used])
        trial.set_user_attr("macs_per_inference", figures["macs_per_inference"])
        trial.set_user_attr("exit_fraction", test.exit_fractions().tolist())
        return figures["accuracy"], figures["energy_per_inference_nJ"], test_figures["accuracy"]

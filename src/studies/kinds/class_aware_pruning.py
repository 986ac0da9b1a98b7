"""`class-aware-pruning`: class-aware pruning (Jiang et al., DATE 2024) as a search, with magnitude and random
pruning as baselines in the same loop.

Each trial fine-tunes the cached quantized baseline under the pruning loss
(L1 and orthogonality terms weighted by λ1 and λ2), then prunes filters (or
neurons) round by round, removing those important for the fewest classes
(Taylor threshold τ; scored as the authors score by default, see
`studies.pruning.scores`) and fine-tuning after each round, until the target
ratio (`schedule` "ratio") or the accuracy floor (`schedule` "floor"). The
layers shrink physically, so MACs and the LUT energy per inference fall with
them. Accuracy is measured on the validation
part; the test accuracy is kept as the trial attribute `test_accuracy`.
`run_once` runs one fixed setting and writes the pruned network and a report
(`dse prune`).
"""

from __future__ import annotations

import math
import threading
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import optuna

from cells.units import NJ_PER_J, reduction_pct
from dse.costmodel import layer_costs, layer_figures
from dse.errors import ConfigError
from dse.kinds import Objective, StudyContext, StudyKind
from dse.runner import study_context
from dse.schema import Field, Invalid, Section, When, choices, float_range, int_range, integer, list_of, number, one_of
from dse.storage_urls import DEFAULT_STORAGE
from studies.data import DATA_SETTINGS
from studies.models import MODEL_SETTINGS
from studies.pruning.loop import METHODS, SCHEDULES, SCOPES, PruneResult, PruningPlan, Training, prune_iteratively
from studies.pruning.regularizers import L1_SCOPES, ORTHOGONALITY_FORMS
from studies.pruning.report import Figures, save_pruned, write_report
from studies.pruning.scores import AUTHORS_IMAGES_PER_CLASS, AUTHORS_TAU, SCORES, class_scores
from studies.pruning.surgery import parameter_count, prunable_units
from studies.session import QuantSession
from studies.training import OPTIMIZERS

if TYPE_CHECKING:
    from torch import nn

    from dse.config import StudyConfig



def _ratio_or_layer_ratios(values: dict) -> None:
    """Either one ratio (and scope) or a ratio per layer; the first defaults when neither is given. The floor
    schedule has neither, only a scope."""
    if values["schedule"] == "floor":
        values["scope"] = values["scope"] or ["global"]
        return
    if values["layer_ratios"] is not None:
        if values["ratio"] is not None or values["scope"] is not None:
            raise Invalid("give either ratio (and scope) or layer_ratios, not both", "layer_ratios")
        return
    values["ratio"] = values["ratio"] or [0.3, 0.8]
    values["scope"] = values["scope"] or ["global"]


class ClassAwarePruning(StudyKind):
    """Search τ, λ1, λ2, the pruning ratio (global, per layer, or one per layer) and the number of rounds."""

    name: ClassVar[str] = "class-aware-pruning"
    objectives: ClassVar[tuple[Objective, ...]] = (
        Objective("accuracy", "maximize", "accuracy (%)"),
        Objective("energy_per_inference_nJ", "minimize", "energy per inference (nJ)"),
        Objective("macs", "minimize", "MACs per inference"),
    )
    space: ClassVar[Section] = Section({
        "method": Field(choices(METHODS), ["class-aware"]),
        "score": Field(choices(SCORES), ["sum-max"]),
        "tau": Field(float_range(0.0, math.inf), [AUTHORS_TAU, AUTHORS_TAU]),
        "images_per_class": Field(integer(0), AUTHORS_IMAGES_PER_CLASS),
        "lambda1": Field(float_range(0.0, math.inf), [1e-6, 1e-4]),
        "lambda2": Field(float_range(0.0, math.inf), [1e-3, 1e-1]),
        "l1_scope": Field(one_of(L1_SCOPES), "parameters"),
        "orthogonality": Field(one_of(ORTHOGONALITY_FORMS), "conv"),
        "schedule": Field(one_of(SCHEDULES), "ratio"),
        "ratio": Field(float_range(0.0, 1.0), None, When("schedule", ("ratio",), "schedule")),
        "layer_ratios": Field(list_of(float_range(0.0, 1.0), "ratios or [low, high] ranges, one per prunable layer"),
                              None, When("schedule", ("ratio",), "schedule")),
        "step": Field(number(0, 1, open_bounds=True), 0.1, When("schedule", ("floor",), "schedule")),
        "scope": Field(choices(SCOPES), None),
        "iterations": Field(int_range(1), [1, 4]),
        "regularize_epochs": Field(integer(0), 5),
        "tolerance_points": Field(number(0), None),
        "optimizer": Field(one_of(OPTIMIZERS), "adam"),
        "lr": Field(number(0, open_bounds=True), None),
    }, rules=(_ratio_or_layer_ratios,))
    """`method`: class-aware | magnitude | random, or a list searched over; `score`: "sum-max" (the authors'),
    "max-sum" or "class-taylor" (see `studies.pruning.scores`), or a list searched over; `tau` (not used by
    "class-taylor"), `lambda1`, `lambda2`: a number or [low, high] (searched
    on a log scale when low > 0); `images_per_class`: images per class the scores average over (0: the whole
    training part); `l1_scope`: "parameters" (all, batch-norm γ included) or "weights" (MAC weights);
    `orthogonality`: "conv" or "kernel" form; `schedule` "ratio": `ratio`, share of filters pruned, [low, high]
    in 0..1 (default [0.3, 0.8]), ranked over all layers (`scope` "global", the default) or the same in each
    ("layer"), or `layer_ratios`, one ratio or range per prunable layer, reached over `iterations` rounds;
    `schedule` "floor": each round removes `step` of the filters left until the floor or `iterations` rounds;
    `regularize_epochs`: training under the pruning loss before the first round; `tolerance_points`: stop before
    accuracy falls more than this below the baseline (no floor when absent); `optimizer` ("adam" or "sgd", the
    authors') and `lr` (default: the [model]'s) of that training and of the fine-tuning after each round."""
    tables: ClassVar[dict[str, Section]] = {"data": DATA_SETTINGS, "model": MODEL_SETTINGS}
    layer_costs: ClassVar[bool] = True

    def __init__(self, settings: dict, context: StudyContext, session: QuantSession | None = None) -> None:
        self.settings = settings
        self.lut = context.lut
        self.session = session or QuantSession(context)
        self.units = prunable_units(self.session.baseline_model())
        if not self.units:
            raise ConfigError("model: the network has no prunable layer (it needs a hidden layer or two convolutions)")
        ratios = settings.get("layer_ratios")
        if ratios is not None and len(ratios) != len(self.units):
            names = ", ".join(unit.name for unit in self.units)
            raise ConfigError(f"space.layer_ratios: the network has {len(self.units)} prunable layers ({names}), "
                              f"got {len(ratios)} ratios")
        self._baseline: Figures | None = None

    def figures(self, model: nn.Module) -> Figures:
        """Accuracy, parameters, MACs and LUT energy per inference of a (pruned) quantized network."""
        breakdown = layer_costs(self.session.cost_model(), self.session.stats(model))
        return Figures(self.session.accuracy(model), self.session.accuracy(model, "test"), parameter_count(model),
                       sum(layer.macs for layer in breakdown),
                       sum(layer.energy_J for layer in breakdown) * NJ_PER_J, breakdown)

    def baseline_figures(self) -> Figures:
        """Figures of the unpruned baseline network, computed once."""
        if self._baseline is None:
            self._baseline = self.figures(self.session.baseline_model())
        return self._baseline

    def baseline(self) -> dict[str, float]:
        base = self.baseline_figures()
        return {"accuracy": base.accuracy, "test_accuracy": base.test_accuracy, "energy_per_inference_nJ": base.energy_per_inference_nJ,
                "macs": float(base.macs), "params": float(base.params), **layer_figures(base.layers)}

    def plan(self, trial: optuna.Trial) -> PruningPlan:
        """The pruning setting of a trial: fixed values as given, ranges and lists suggested on `trial`."""
        s = self.settings
        method = _categorical(trial, "method", s["method"])
        layer_ratios = None
        ratio = PruningPlan.ratio
        scope = _categorical(trial, "scope", s["scope"]) if s["scope"] is not None else PruningPlan.scope
        if s.get("layer_ratios") is not None:
            layer_ratios = tuple(_float(trial, f"ratio_{i}", pair) for i, pair in enumerate(s["layer_ratios"]))
        elif s["schedule"] == "ratio":
            ratio = _float(trial, "ratio", s["ratio"])
        low, high = s["iterations"]
        tolerance = s["tolerance_points"]
        searched_tau = s["tau"][0] != s["tau"][1]
        return PruningPlan(
            method=method, schedule=s["schedule"], ratio=ratio, step=s.get("step", PruningPlan.step), scope=scope,
            layer_ratios=layer_ratios,
            iterations=low if low == high else trial.suggest_int("iterations", low, high),
            score=_categorical(trial, "score", s["score"]),
            tau=(PruningPlan.tau if searched_tau and method != "class-aware"
                 else _float(trial, "tau", s["tau"], log=True)),
            images_per_class=s["images_per_class"],
            lambda1=_float(trial, "lambda1", s["lambda1"], log=True),
            lambda2=_float(trial, "lambda2", s["lambda2"], log=True),
            l1_scope=s["l1_scope"], orthogonality=s["orthogonality"],
            regularize_epochs=s["regularize_epochs"],
            finetune_epochs=self.session.settings["finetune_epochs"],
            min_accuracy=None if tolerance is None else self.baseline_figures().accuracy - tolerance,
        )

    def training(self, seed: int) -> Training:
        """The optimizer settings of the pruning loop: [space] `optimizer` and `lr`, the rest from [model]."""
        model_settings = self.session.settings
        return Training(self.settings["lr"] or model_settings["lr"], model_settings["batch_size"], seed,
                        model_settings["weight_decay"], self.session.device, self.settings["optimizer"],
                        self.session.progress)

    def prune(self, plan: PruningPlan, training: Training) -> PruneResult:
        """Run the pruning loop on the baseline network."""
        return prune_iteratively(self.session.baseline_model(), self.session.dataset, plan, training,
                                 self.session.accuracy)

    def evaluate(self, trial: optuna.Trial) -> dict[str, float]:
        plan = self.plan(trial)
        result = self.prune(plan, self.training(self.session.seed + 1 + trial.number))
        base, after = self.baseline_figures(), self.figures(result.model)
        trial.set_user_attr("method", plan.method)
        trial.set_user_attr("kept_per_layer", {name: len(kept) for name, kept in result.kept.items()})
        trial.set_user_attr("stopped_by", result.stopped_by)
        trial.set_user_attr("rounds_done", len(result.steps))
        trial.set_user_attr("macs_reduction_pct", reduction_pct(after.macs, base.macs))
        trial.set_user_attr("energy_reduction_pct", reduction_pct(after.energy_per_inference_nJ,
                                                                  base.energy_per_inference_nJ))
        trial.set_user_attr("test_accuracy", after.test_accuracy)
        return {"accuracy": after.accuracy, "energy_per_inference_nJ": after.energy_per_inference_nJ,
                "macs": float(after.macs), "params": float(after.params),
                "pruned_filters_pct": 100.0 * result.pruned_fraction,
                "accuracy_drop": base.accuracy - after.accuracy, **layer_figures(after.layers)}

    @classmethod
    def run_once(cls, config: StudyConfig, out: Path, overrides: dict | None = None, storage: str | None = None,
                 progress: bool = False, stop: threading.Event | None = None) -> dict:
        """Run the one setting the study file's [space] (with `overrides`) fixes; write the pruned network and a
        report into `out`. The baseline is cached beside `storage` (default: the study's), as `dse study run`
        caches it. `progress` shows training progress bars; a set `stop` ends training with
        `dse.errors.Stopped`, before anything is written. Returns the report."""
        where = f"{config.path}: space"
        raw = tomllib.loads(config.text).get("space", {})
        settings = cls.validate({**raw, **(overrides or {})}, where)
        ranged = [key for key, value in settings.items() if _is_searched(value)]
        if ranged:
            raise ConfigError(f"{where}.{ranged[0]}: dse prune runs one setting; give one value "
                              f"(in the file or as --set {ranged[0]}=VALUE), got {settings[ranged[0]]!r}")
        instance = cls(settings, study_context(config, storage or config.storage or DEFAULT_STORAGE, progress, stop))
        plan = instance.plan(optuna.trial.FixedTrial({}))
        result = instance.prune(plan, instance.training(config.seed + 1))
        session = instance.session
        dataset = session.dataset
        counts_before, counts_after = (
            class_scores(model, result.units, dataset.train, dataset.n_classes, plan.score, plan.tau,
                         plan.images_per_class, session.device, session.progress, f"class scores {when}")
            for model, when in ((result.start, "before"), (result.model, "after")))
        out = Path(out)
        report = write_report(out, plan, result, instance.baseline_figures(), instance.figures(result.model),
                              counts_before, counts_after, dataset.n_classes)
        save_pruned(out / "pruned_model.pt", result, session.settings, dataset, session.bits)
        return report


def _is_searched(value: object) -> bool:
    """Whether a normalized [space] value leaves a choice to the sampler."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return any(_is_searched(item) for item in value)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return value[0] != value[1]
    return isinstance(value, list) and len(value) > 1


def _float(trial: optuna.Trial, name: str, pair: list[float], log: bool = False) -> float:
    low, high = pair
    return low if low == high else trial.suggest_float(name, low, high, log=log and low > 0)


def _categorical(trial: optuna.Trial, name: str, options: list[str]) -> str:
    return options[0] if len(options) == 1 else trial.suggest_categorical(name, options)

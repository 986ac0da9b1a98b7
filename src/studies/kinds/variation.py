"""`variation`: CorrectNet (Eldebiky et al., DATE 2023) error suppression and compensation for RRAM crossbars.

Weights sit on crossbars whose devices vary log-normally (`studies.variation.model`).
A trial fine-tunes the plain quantized network under the Lipschitz loss
(k, β; `regularizer` orthogonal or spectral; nominal weights, or a fresh chip
per batch with `suppression_variation`), then trains digital compensation
beside the layers whose width it chooses (0: none) under variation; or, with
`method = "noise-injection"`, fine-tunes under variation instead. Objectives: `accuracy_variation`, the mean accuracy (%) on
the validation part over Monte Carlo chips at the study's σ (the mean over the
σ values when several are given), and `overhead_macs_pct`, the compensation's
MACs in % of the network's. Every trial also records `accuracy_nominal`
(without variation), `accuracy_variation_se` (Monte Carlo standard error),
`accuracy_variation_p5` (5th percentile over chips), `recovery_pct` (accuracy
under variation in % of the plain network's variation-free accuracy), the
compensation's parameters and LUT energy, the test-part figures, and the
curves of accuracy against σ (`curve_*`) that `dse variation report` draws.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, ClassVar

import optuna

from dse.errors import ConfigError
from dse.kinds import Objective, StudyKind
from dse.schema import (
    Field,
    Invalid,
    Section,
    boolean,
    choices,
    float_range,
    int_range,
    integer,
    list_of,
    one_of,
    show,
    text,
)
from studies.data import DATA_SETTINGS
from studies.models import MODEL_SETTINGS
from studies.variation.lipschitz import REGULARIZERS
from studies.variation.model import MAPPINGS
from studies.variation.session import Plan, VariationSession
from studies.variation.training import COMPENSATION_LOSSES

if TYPE_CHECKING:
    from dse.kinds import StudyContext

METHODS = ("correctnet", "noise-injection")
CURVE_SIGMAS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]


def _sigmas(value: object) -> list[float]:
    """A σ (number >= 0) or a non-empty list of them, as a sorted list of distinct floats."""
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise Invalid(f"expected a number >= 0 or a list of them, got {show(value)}")
    if any(v < 0 or not math.isfinite(v) for v in values):
        raise Invalid(f"σ must be >= 0, got {show(value)}")
    return sorted({float(v) for v in values})


def _lipschitz_target(values: dict) -> None:
    """k > 0; a warning at k >= 1, where a varied layer may amplify errors."""
    low, high = values["k"]
    if low <= 0:
        raise Invalid(f"expected k > 0, got {show(low)}", "k")
    if high >= 1:
        warnings.warn(f"space.k: k >= 1 ({high:g}) lets a varied layer amplify errors; the suppression argument "
                      "needs k < 1", UserWarning, stacklevel=2)


def _distinct_names(values: dict) -> None:
    if values["layers"] is not None:
        values["layers"] = list(dict.fromkeys(values["layers"]))


class VariationKind(StudyKind):
    """Search k, β and the compensation width per layer (or noise-injection training) for accuracy under variation."""

    name: ClassVar[str] = "variation"
    objectives: ClassVar[tuple[Objective, ...]] = (
        Objective("accuracy_variation", "maximize", "accuracy under variation (%)"),
        Objective("overhead_macs_pct", "minimize", "compensation MACs (% of the network)"),
    )
    space: ClassVar[Section] = Section({
        "method": Field(choices(METHODS), ["correctnet"]),
        "sigma": Field(_sigmas, [0.5]),
        "k": Field(float_range(0.0, math.inf), [0.5, 0.95]),
        "beta": Field(float_range(0.0, math.inf), [0.01, 1.0]),
        "regularizer": Field(one_of(REGULARIZERS), "orthogonal"),
        "suppression_variation": Field(boolean, False),
        "layers": Field(list_of(text, "layer names"), None),
        "width": Field(int_range(0), [0, 4]),
        "mapping": Field(one_of(MAPPINGS), "differential"),
        "adc_bits": Field(integer(2, 16), None),
        "samples": Field(integer(1), 200),
        "compensation_epochs": Field(integer(0), 10),
        "compensation_loss": Field(one_of(COMPENSATION_LOSSES), "task"),
        "curve_sigmas": Field(_sigmas, CURVE_SIGMAS),
    }, rules=(_lipschitz_target, _distinct_names))
    """`method`: correctnet | noise-injection, or both (searched); `sigma`: σ of θ, a number >= 0 or a list
    (0.5; λ and the training variation use the largest); `k`: Lipschitz target, number or [low, high] > 0 (warns
    at >= 1; [0.5, 0.95]); `beta`: weight of the regularizer, number or [low, high] >= 0 (log scale when low > 0;
    [0.01, 1]); `regularizer`: orthogonal (‖WᵀW − λ²I‖², every singular value pulled to λ) | spectral (only
    singular values above λ penalized); `suppression_variation`: fine-tune the suppression under a fresh chip per
    batch (false: nominal weights, as CorrectNet); `layers`: names of the layers that may get compensation
    (default: every MAC layer); `width`: compensation channels per layer, an integer or [low, high] >= 0 ([0, 4];
    0 is none); `mapping`: differential | offset; `adc_bits`: ADC resolution, 2 to 16 (none: ideal readout); `samples`: Monte Carlo chips (200);
    `compensation_epochs` (10); `compensation_loss`: task (the network's cross-entropy under variation) | maps
    (the compensated layers' nominal maps); `curve_sigmas`: σ values of the report's curves."""
    tables: ClassVar[dict[str, Section]] = {"data": DATA_SETTINGS, "model": MODEL_SETTINGS}

    def __init__(self, settings: dict, context: StudyContext) -> None:
        self.settings = settings
        self.session = VariationSession(context, settings["mapping"], settings["adc_bits"], settings["samples"],
                                        settings["compensation_epochs"], settings["compensation_loss"])
        known = self.session.layer_names()
        chosen = settings["layers"] or known
        unknown = [name for name in chosen if name not in known]
        if unknown:
            raise ConfigError(f"space.layers: the network has no layer {unknown[0]!r} (its MAC layers: "
                              f"{', '.join(known)})")
        self.layers = chosen
        self._baseline: dict[str, float] | None = None
        self._baseline_curve: list[tuple[float, float]] | None = None

    def _measure(self, model, split: str = "val") -> tuple[float, float, float]:
        """Mean, standard error and 5th percentile over the study's σ values (means of each)."""
        results = [self.session.accuracy(model, sigma, split) for sigma in self.settings["sigma"]]
        n = len(results)
        return (sum(r.mean for r in results) / n, math.sqrt(sum(r.standard_error ** 2 for r in results)) / n,
                sum(r.p5 for r in results) / n)

    def curve(self, model) -> list[tuple[float, float]]:
        """(mean, standard error) of the accuracy at each of `curve_sigmas`."""
        return [(r.mean, r.standard_error) for r in
                (self.session.accuracy(model, sigma) for sigma in self.settings["curve_sigmas"])]

    def baseline(self) -> dict[str, float]:
        if self._baseline is None:
            plain = self.session.quant.baseline_model()
            mean, se, p5 = self._measure(plain)
            test_mean, test_se, _ = self._measure(plain, "test")
            nominal = self.session.accuracy(plain, 0.0).mean
            self._baseline = {"accuracy_variation": mean, "overhead_macs_pct": 0.0, "accuracy_nominal": nominal,
                              "accuracy_variation_se": se, "accuracy_variation_p5": p5,
                              "test_accuracy_variation": test_mean, "test_accuracy_variation_se": test_se,
                              "recovery_pct": 100.0 * mean / nominal if nominal else 0.0}
        return self._baseline

    def baseline_curve(self) -> list[tuple[float, float]]:
        if self._baseline_curve is None:
            self._baseline_curve = self.curve(self.session.quant.baseline_model())
        return self._baseline_curve

    def plan(self, trial: optuna.Trial) -> Plan:
        """The trial's setting: fixed values as given, ranges and lists suggested on `trial`."""
        s = self.settings
        methods = s["method"]
        method = methods[0] if len(methods) == 1 else trial.suggest_categorical("method", methods)
        sigmas = tuple(s["sigma"])
        if method == "noise-injection":
            return Plan(method, sigmas)
        low, high = s["width"]
        widths = tuple((name, low if low == high else trial.suggest_int(f"width_{name}", low, high))
                       for name in self.layers)
        return Plan(method, sigmas, _float(trial, "k", s["k"]), _float(trial, "beta", s["beta"], log=True), widths,
                    s["regularizer"], s["suppression_variation"])

    def evaluate(self, trial: optuna.Trial) -> dict[str, float]:
        plan = self.plan(trial)
        outcome = self.session.run(plan, seed=self.session.quant.seed + 1 + trial.number)
        final = outcome.compensated if outcome.compensated is not None else outcome.trained
        mean, se, p5 = self._measure(final)
        test_mean, test_se, _ = self._measure(final, "test")
        nominal = self.session.accuracy(final, 0.0).mean
        base = self.baseline()
        extra = outcome.overhead
        trial.set_user_attr("method", plan.method)
        trial.set_user_attr("compensation_widths", dict(plan.widths))
        trial.set_user_attr("compensation_params", 0 if extra is None else extra.params)
        trial.set_user_attr("compensation_macs", 0 if extra is None else extra.macs)
        trial.set_user_attr("compensation_energy_nJ", 0.0 if extra is None else extra.energy_per_inference_nJ)
        trial.set_user_attr("test_accuracy_variation", test_mean)
        trial.set_user_attr("test_accuracy_variation_se", test_se)
        trial.set_user_attr("curve_sigma", list(self.settings["curve_sigmas"]))
        for name, points in (("baseline", self.baseline_curve()), ("trained", self.curve(outcome.trained)),
                             ("compensated", None if outcome.compensated is None
                              else self.curve(outcome.compensated))):
            trial.set_user_attr(f"curve_{name}", None if points is None else [p[0] for p in points])
            trial.set_user_attr(f"curve_{name}_se", None if points is None else [p[1] for p in points])
        return {"accuracy_variation": mean, "overhead_macs_pct": 0.0 if extra is None else extra.macs_pct,
                "accuracy_nominal": nominal, "accuracy_variation_se": se, "accuracy_variation_p5": p5,
                "recovery_pct": 100.0 * mean / base["accuracy_nominal"] if base["accuracy_nominal"] else 0.0}


def _float(trial: optuna.Trial, name: str, pair: list[float], log: bool = False) -> float:
    low, high = pair
    return low if low == high else trial.suggest_float(name, low, high, log=log and low > 0)

"""`variation`: CorrectNet (Eldebiky et al., DATE 2023) error suppression and compensation for RRAM crossbars.

Weights sit on crossbars whose devices vary log-normally (`studies.variation.model`).
A trial fine-tunes the plain quantized network under the Lipschitz loss
(k, β), then trains digital compensation beside the layers whose width it
chooses (0: none); or, with `method = "noise-injection"`, fine-tunes under
variation instead. Objectives: `accuracy_variation`, the mean accuracy (%) on
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
from studies.kinds._space import check_keys, choices, float_range, int_range, integer
from studies.variation.command import add_report_command
from studies.variation.model import MAPPINGS
from studies.variation.session import Plan, VariationSession

if TYPE_CHECKING:
    import argparse

    from dse.kinds import StudyContext

METHODS = ("correctnet", "noise-injection")
CURVE_SIGMAS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]


class VariationKind(StudyKind):
    """Search k, β and the compensation width per layer (or noise-injection training) for accuracy under variation."""

    name: ClassVar[str] = "variation"
    objectives: ClassVar[tuple[Objective, ...]] = (
        Objective("accuracy_variation", "maximize", "accuracy under variation (%)"),
        Objective("overhead_macs_pct", "minimize", "compensation MACs (% of the network)"),
    )
    KEYS: ClassVar[tuple[str, ...]] = ("method", "sigma", "k", "beta", "layers", "width", "mapping", "adc_bits",
                                       "samples", "compensation_epochs", "curve_sigmas")

    @classmethod
    def validate(cls, settings: dict, where: str) -> dict:
        """`method`: correctnet | noise-injection, or both (searched); `sigma`: σ of θ, a number >= 0 or a list
        (0.5; λ and the training variation use the largest); `k`: Lipschitz target, number or [low, high] > 0 (warns at >= 1; [0.5, 0.95]); `beta`: weight of
        the regularizer, number or [low, high] >= 0 (log scale when low > 0; [0.01, 1]); `layers`: names of the
        layers that may get compensation (default: every MAC layer); `width`: compensation channels per layer,
        an integer or [low, high] >= 0 ([0, 4]; 0 is none); `mapping`: differential | offset; `adc_bits`: ADC
        resolution (none: ideal readout); `samples`: Monte Carlo chips (200); `compensation_epochs` (10);
        `curve_sigmas`: σ values of the report's curves."""
        check_keys(settings, where, cls.KEYS)
        sigmas = _sigma_list(settings, "sigma", where, 0.5)
        k = float_range(settings, "k", where, [0.5, 0.95], 0.0, math.inf)
        if k[0] <= 0:
            raise ConfigError(f"{where}.k: expected k > 0, got {settings['k']!r}")
        if k[1] >= 1:
            warnings.warn(f"{where}.k: k >= 1 ({k[1]:g}) lets a varied layer amplify errors; "
                          "the suppression argument needs k < 1", UserWarning, stacklevel=2)
        layers = settings.get("layers")
        if layers is not None and not (isinstance(layers, list) and layers and all(
                isinstance(name, str) and name for name in layers)):
            raise ConfigError(f"{where}.layers: expected a non-empty list of layer names, got {layers!r}")
        mapping = settings.get("mapping", "differential")
        if mapping not in MAPPINGS:
            raise ConfigError(f"{where}.mapping: expected one of {', '.join(MAPPINGS)}, got {mapping!r}")
        adc_bits = settings.get("adc_bits")
        if adc_bits is not None:
            adc_bits = integer(settings, "adc_bits", where, 8, minimum=2)
            if adc_bits > 16:
                raise ConfigError(f"{where}.adc_bits: expected an integer from 2 to 16, got {adc_bits}")
        return {
            "method": choices(settings, "method", where, METHODS, "correctnet"),
            "sigma": sigmas,
            "k": k,
            "beta": float_range(settings, "beta", where, [0.01, 1.0], 0.0, math.inf),
            "layers": None if layers is None else list(dict.fromkeys(layers)),
            "width": int_range(settings, "width", where, [0, 4], minimum=0),
            "mapping": mapping,
            "adc_bits": adc_bits,
            "samples": integer(settings, "samples", where, 200, minimum=1),
            "compensation_epochs": integer(settings, "compensation_epochs", where, 10, minimum=0),
            "curve_sigmas": sorted(set(_sigma_list(settings, "curve_sigmas", where, CURVE_SIGMAS))),
        }

    @classmethod
    def add_commands(cls, commands: argparse._SubParsersAction) -> None:
        """`dse variation report`."""
        add_report_command(commands)

    def __init__(self, settings: dict, context: StudyContext) -> None:
        self.settings = settings
        self.session = VariationSession(context, settings["mapping"], settings["adc_bits"], settings["samples"],
                                        settings["compensation_epochs"])
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
            nominal = self.session.accuracy(plain, 0.0).mean
            self._baseline = {"accuracy_variation": mean, "overhead_macs_pct": 0.0, "accuracy_nominal": nominal,
                              "accuracy_variation_se": se, "accuracy_variation_p5": p5,
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
        return Plan(method, sigmas, _float(trial, "k", s["k"]), _float(trial, "beta", s["beta"], log=True), widths)

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


def _sigma_list(settings: dict, key: str, where: str, default: float | list[float]) -> list[float]:
    """A σ (number >= 0) or a non-empty list of them, as a list of floats."""
    value = settings.get(key, default)
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ConfigError(f"{where}.{key}: expected a number >= 0 or a list of them, got {value!r}")
    if any(v < 0 or not math.isfinite(v) for v in values):
        raise ConfigError(f"{where}.{key}: σ must be >= 0, got {value!r}")
    return [float(v) for v in values]


def _float(trial: optuna.Trial, name: str, pair: list[float], log: bool = False) -> float:
    low, high = pair
    return low if low == high else trial.suggest_float(name, low, high, log=log and low > 0)

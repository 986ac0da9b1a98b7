"""`logic-area`: hardware-aware training for logic design of NNs (Xu et al., ASP-DAC 2024) as a search.

With every weight embedded as a constant multiplier, a layer costs the area of
one simplified multiplier per distinct weight value. Rank the weight values by
that area, keep the n smallest, and while the fine-tuned network's validation
accuracy falls more than a tolerance below the baseline's, add the next values
in area order and fine-tune again. Both n and the tolerance are searched: a
fixed tolerance drives most trials to about the same accuracy, while searching
it spreads them along the accuracy/area trade-off (benchmarks/logic_area.py).
Accuracy is measured on the validation part; the test accuracy is kept as the
trial attribute `test_accuracy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import optuna

from cells.units import UM2_PER_MM2, reduction_pct
from dse.costmodel import embedded_area, layer_costs, layer_figures
from dse.kinds import Objective, StudyKind
from dse.schema import Field, Section, float_range, int_range, integer
from studies.data import DATA_SETTINGS
from studies.models import MODEL_SETTINGS
from studies.ranking import n_values_range, rank_weights
from studies.session import QuantSession

if TYPE_CHECKING:
    from dse.kinds import StudyContext



class LogicArea(StudyKind):
    """Search how many of the smallest-area weight values to start from; grow the set until accuracy holds."""

    name: ClassVar[str] = "logic-area"
    objectives: ClassVar[tuple[Objective, ...]] = (
        Objective("accuracy", "maximize", "accuracy (%)"),
        Objective("logic_area_mm2", "minimize", "logic area (mm²)"),
    )
    space: ClassVar[Section] = Section({
        "n_values": Field(int_range(1), None),
        "tolerance_points": Field(float_range(0.0, 100.0), [0.0, 5.0]),
        "add_step": Field(integer(1), 1),
        "max_rounds": Field(integer(0), 8),
    })
    """`n_values`: [low, high] smallest-area values to start with (default 1 to all); `tolerance_points`: accepted
    accuracy loss below the baseline (percentage points), a number or a [low, high] range searched; `add_step`:
    values added per round; `max_rounds`: most rounds of adding."""
    tables: ClassVar[dict[str, Section]] = {"data": DATA_SETTINGS, "model": MODEL_SETTINGS}
    layer_costs: ClassVar[bool] = True

    @classmethod
    def grid_space(cls, settings: dict) -> dict[str, list] | None:
        low_points, high_points = settings["tolerance_points"]
        if settings["n_values"] is None or low_points != high_points:
            return None
        low, high = settings["n_values"]
        return {"n_values": list(range(low, high + 1))}

    def __init__(self, settings: dict, context: StudyContext) -> None:
        self.settings = settings
        self.lut = context.lut
        self.session = QuantSession(context)
        candidates = self.session.candidates
        self.n_values = n_values_range(settings["n_values"], len(candidates))
        self.order = rank_weights(self.lut, candidates, "area")

    def baseline(self) -> dict[str, float]:
        reference = self.session.reference()
        return {"accuracy": reference.accuracy, "test_accuracy": reference.test_accuracy,
                "logic_area_mm2": embedded_area(self.lut, reference.stats) / UM2_PER_MM2,
                **layer_figures(layer_costs(self.session.cost_model(), reference.stats))}

    def evaluate(self, trial: optuna.Trial) -> dict[str, float]:
        reference = self.session.reference()
        start = trial.suggest_int("n_values", *self.n_values)
        low, high = self.settings["tolerance_points"]
        tolerance = low if low == high else trial.suggest_float("tolerance_points", low, high)
        target = reference.accuracy - tolerance
        seed = self.session.seed + 1 + trial.number
        count = start
        model = self.session.finetune(self.order[:count], None, seed)
        accuracy = self.session.accuracy(model)
        rounds = 0
        while accuracy < target and count < len(self.order) and rounds < self.settings["max_rounds"]:
            count = min(count + self.settings["add_step"], len(self.order))
            rounds += 1
            model = self.session.finetune(self.order[:count], None, seed + rounds, start=model)
            accuracy = self.session.accuracy(model)
        stats = self.session.stats(model)
        area = embedded_area(self.lut, stats)
        base_area = embedded_area(self.lut, reference.stats)
        trial.set_user_attr("n_weight_values", count)
        trial.set_user_attr("allowed_weights", sorted(int(w) for w in self.order[:count]))
        trial.set_user_attr("added_rounds", rounds)
        trial.set_user_attr("accuracy_met", accuracy >= target)
        trial.set_user_attr("area_reduction_pct", reduction_pct(area, base_area))
        trial.set_user_attr("test_accuracy", self.session.accuracy(model, "test"))
        return {"accuracy": accuracy, "logic_area_mm2": area / UM2_PER_MM2,
                "accuracy_drop": reference.accuracy - accuracy,
                **layer_figures(layer_costs(self.session.cost_model(), stats))}

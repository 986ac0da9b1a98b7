"""Built-in study kinds; importing this package registers them with `dse.kinds`."""

from __future__ import annotations

from studies.kinds.class_aware_pruning import ClassAwarePruning
from studies.kinds.early_exit import EarlyExit
from studies.kinds.logic_area import LogicArea
from studies.kinds.variation import VariationKind
from studies.kinds.weight_subset import WeightSubset

__all__ = ["ClassAwarePruning", "EarlyExit", "LogicArea", "VariationKind", "WeightSubset"]

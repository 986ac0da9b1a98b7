"""Class-aware pruning (Jiang et al., DATE 2024) and the magnitude and random baselines, with physical removal."""

from __future__ import annotations

from studies.pruning.loop import METHODS, SCOPES, PruneResult, PruneStep, PruningPlan, Training, prune_iteratively
from studies.pruning.regularizers import RegularizedLoss, l1_penalty, orthogonality_penalty
from studies.pruning.report import Figures, load_pruned, save_pruned, write_report
from studies.pruning.scores import class_aware_keys, class_counts, class_importance, taylor_values
from studies.pruning.surgery import PrunableUnit, parameter_count, prunable_units, remove_outputs

__all__ = [
    "METHODS", "SCOPES", "Figures", "PrunableUnit", "PruneResult", "PruneStep", "PruningPlan", "RegularizedLoss",
    "Training", "class_aware_keys", "class_counts", "class_importance", "l1_penalty", "load_pruned",
    "orthogonality_penalty", "parameter_count", "prunable_units", "prune_iteratively", "remove_outputs",
    "save_pruned", "taylor_values", "write_report",
]

"""Early exit with class exclusion (AICAS 2024) and the confidence-threshold baseline, on a trained backbone."""

from __future__ import annotations

from studies.early_exit.confidence import run_confidence
from studies.early_exit.cost import CostTable
from studies.early_exit.exclusion import ExitOutcome, exclude, run_exclusion
from studies.early_exit.heads import ExclusionHeads, exit_positions
from studies.early_exit.training import ExitSession

__all__ = ["CostTable", "ExclusionHeads", "ExitOutcome", "ExitSession", "exclude", "exit_positions",
           "run_confidence", "run_exclusion"]

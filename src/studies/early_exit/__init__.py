"""Early exit with class exclusion (AICAS 2024), the confidence-threshold baseline and their hybrid."""

from __future__ import annotations

from studies.early_exit.confidence import run_confidence
from studies.early_exit.cost import CostTable
from studies.early_exit.exclusion import ExitOutcome, exclude, run_exclusion
from studies.early_exit.heads import ExclusionHeads, ExitNetwork, JointExitLoss, exit_positions
from studies.early_exit.hybrid import run_hybrid
from studies.early_exit.training import ExitSession

__all__ = ["CostTable", "ExclusionHeads", "ExitNetwork", "ExitOutcome", "ExitSession", "JointExitLoss", "exclude",
           "exit_positions", "run_confidence", "run_exclusion", "run_hybrid"]

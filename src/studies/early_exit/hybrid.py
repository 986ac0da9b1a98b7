"""The hybrid exit rule: class exclusion narrows the candidate classes, confidence among them decides the exit.

At each exit the β rule of `studies.early_exit.exclusion` removes classes
first; then the exit head's logits are turned into a softmax over the
classes still possible only, and the image leaves when the largest of these
probabilities exceeds the exit's threshold (or when one class is left), with
that class. Excluding unlikely classes sharpens the softmax over the rest, and
what earlier exits excluded stays out, so the evidence of all exits so far
adds up. Threshold 1 gives pure exclusion; β = 0 gives the classic confidence
exit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from studies.early_exit.exclusion import ExitOutcome, run_exits


def candidate_confidence(logits: np.ndarray, possible: np.ndarray) -> np.ndarray:
    """Largest softmax probability over the possible classes only, per row of N×C `logits`."""
    masked = np.where(possible, logits, -np.inf)
    shifted = np.exp(masked - masked.max(axis=1, keepdims=True))
    return 1.0 / shifted.sum(axis=1)


def run_hybrid(exit_probabilities: Sequence[np.ndarray], exit_logits: Sequence[np.ndarray], betas: Sequence[float],
               thresholds: Sequence[float], final_logits: np.ndarray, reference: str = "all",
               final: str = "unmasked") -> ExitOutcome:
    """Pass N images through E hybrid exits: exclusion on `exit_probabilities`, then confidence on `exit_logits`."""
    if len(thresholds) != len(betas) or len(exit_logits) != len(betas):
        raise ValueError(f"{len(betas)} coefficients β, {len(thresholds)} thresholds and {len(exit_logits)} "
                         "logit arrays: one of each per exit")

    def confident(e: int, possible: np.ndarray) -> np.ndarray:
        return candidate_confidence(exit_logits[e], possible) > thresholds[e]

    return run_exits(exit_probabilities, betas, final_logits, reference, final, confident, exit_logits)

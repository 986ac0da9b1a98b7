"""Class exclusion at exit points (Wang, Li and Zhang, AICAS 2024), on arrays of per-exit probabilities.

At exit e every class c has a probability p_c from its class-exclusion
network, and a class stays possible when p_c ≥ β_e · m. Two readings of m:

- `reference = "all"` (the authors' code): m is the maximum over all classes
  at this exit, and the class holding it is possible again even when an
  earlier exit excluded it; every class's network runs at every exit.
- `reference = "possible"`: m is the maximum over the classes still possible,
  and an excluded class stays excluded, so only their networks need to run.

Either way β = 0 excludes nothing and β = 1 keeps only the largest (and its
ties). An image whose possible classes shrink to one leaves at that exit with
that class. Every other image is decided by the final classifier: on its own
(`final = "unmasked"`, the authors' code) or among the remaining classes only
(`final = "masked"`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

REFERENCES = ("all", "possible")
FINAL_DECISIONS = ("unmasked", "masked")

# Which images of those still running leave at exit e, given the classes possible after it.
LeaveRule = Callable[[int, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ExitOutcome:
    """Where each of N images left a network with E exits, and what it predicted.

    `exit_index[i]` is the exit image i left at, or E when the final classifier
    decided. `reached[i, e]` tells whether image i was still running at exit e,
    `candidates[i, e, c]` whether class c was still possible when it got there,
    and `excluded[i, e]` how many classes exit e excluded for it (0 where not reached).
    """

    prediction: np.ndarray
    exit_index: np.ndarray
    reached: np.ndarray
    candidates: np.ndarray
    excluded: np.ndarray

    @property
    def n_exits(self) -> int:
        return self.reached.shape[1]

    def exit_fractions(self) -> np.ndarray:
        """Share of all images leaving at each exit, then (last entry) at the final classifier."""
        counts = np.bincount(self.exit_index, minlength=self.n_exits + 1)
        return counts / max(len(self.exit_index), 1)

    def excluded_means(self) -> np.ndarray:
        """Mean number of classes each exit excluded, over the images that reached it (NaN where none did)."""
        reached = self.reached.sum(axis=0)
        totals = self.excluded.sum(axis=0).astype(float)
        return np.divide(totals, reached, out=np.full(self.n_exits, np.nan), where=reached > 0)

    def excluded_total_means(self) -> np.ndarray:
        """Mean number of classes excluded up to and including each exit, over the images that reached it."""
        reached = self.reached.sum(axis=0)
        totals = (np.cumsum(self.excluded, axis=1) * self.reached).sum(axis=0).astype(float)
        return np.divide(totals, reached, out=np.full(self.n_exits, np.nan), where=reached > 0)


def exclude(probabilities: np.ndarray, possible: np.ndarray, beta: float, reference: str = "all") -> np.ndarray:
    """The classes still possible after one exit, by the β rule read as `reference` says (see the module).

    `probabilities` and `possible` are N×C; every row of `possible` must hold at least one class.
    """
    if reference == "all":
        top = probabilities.argmax(axis=1)
        readmitted = possible.copy()
        readmitted[np.arange(len(top)), top] = True
        return readmitted & (probabilities >= beta * probabilities.max(axis=1, keepdims=True))
    largest = np.where(possible, probabilities, -np.inf).max(axis=1, keepdims=True)
    return possible & (probabilities >= beta * largest)


def run_exits(exit_probabilities: Sequence[np.ndarray], betas: Sequence[float], final_logits: np.ndarray,
              reference: str = "all", final: str = "unmasked", leave: LeaveRule | None = None,
              exit_scores: Sequence[np.ndarray] | None = None) -> ExitOutcome:
    """Pass N images through E exits of class exclusion, then the final classifier.

    An image leaves where one class is left or where `leave` says so; it then
    predicts its possible class with the largest `exit_scores` (default: the
    exclusion probabilities) at that exit.
    """
    if len(exit_probabilities) != len(betas):
        raise ValueError(f"{len(exit_probabilities)} exits but {len(betas)} coefficients β")
    scores = exit_probabilities if exit_scores is None else exit_scores
    n, n_classes = final_logits.shape
    n_exits = len(betas)
    possible = np.ones((n, n_classes), dtype=bool)
    running = np.ones(n, dtype=bool)
    exit_index = np.full(n, n_exits, dtype=np.int64)
    prediction = np.full(n, -1, dtype=np.int64)
    reached = np.zeros((n, n_exits), dtype=bool)
    candidates = np.zeros((n, n_exits, n_classes), dtype=bool)
    excluded = np.zeros((n, n_exits), dtype=np.int64)
    for e, (probabilities, beta) in enumerate(zip(exit_probabilities, betas)):
        reached[:, e] = running
        candidates[:, e] = possible & running[:, None]
        after = np.where(running[:, None], exclude(probabilities, possible, beta, reference), possible)
        excluded[:, e] = (possible & ~after).sum(axis=1)
        possible = after
        leaving = running & (possible.sum(axis=1) == 1)
        if leave is not None:
            leaving |= running & leave(e, possible)
        exit_index[leaving] = e
        prediction[leaving] = np.where(possible, scores[e], -np.inf).argmax(axis=1)[leaving]
        running &= ~leaving
    decided = np.where(possible, final_logits, -np.inf) if final == "masked" else final_logits
    prediction[running] = decided.argmax(axis=1)[running]
    return ExitOutcome(prediction, exit_index, reached, candidates, excluded)


def run_exclusion(exit_probabilities: Sequence[np.ndarray], betas: Sequence[float], final_logits: np.ndarray,
                  reference: str = "all", final: str = "unmasked") -> ExitOutcome:
    """Class exclusion alone: an image leaves only where one class is left."""
    return run_exits(exit_probabilities, betas, final_logits, reference, final)

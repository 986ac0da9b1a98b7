"""Class exclusion at exit points (Wang, Li and Zhang, AICAS 2024), on arrays of per-exit probabilities.

At exit e every still-possible class c has a probability p_c from its
class-exclusion network. The exit excludes class c when p_c < β_e · max p,
the maximum taken over the classes still possible, so the most likely class
is never excluded (β ≤ 1) and β = 0 excludes nothing. An excluded class stays
excluded; an image whose possible classes shrink to one leaves at that exit
with that class, and every other image is decided by the final classifier
among its remaining classes only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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


def exclude(probabilities: np.ndarray, possible: np.ndarray, beta: float) -> np.ndarray:
    """The classes still possible after one exit: those of `possible` with p_c >= β · (max p over `possible`).

    `probabilities` and `possible` are N×C; every row of `possible` must hold at least one class.
    """
    reference = np.where(possible, probabilities, -np.inf).max(axis=1, keepdims=True)
    return possible & ~(probabilities < beta * reference)


def run_exclusion(exit_probabilities: Sequence[np.ndarray], betas: Sequence[float],
                  final_logits: np.ndarray) -> ExitOutcome:
    """Pass N images through E exits of class exclusion, then the final classifier restricted to what remains."""
    if len(exit_probabilities) != len(betas):
        raise ValueError(f"{len(exit_probabilities)} exits but {len(betas)} coefficients β")
    n, n_classes = final_logits.shape
    n_exits = len(betas)
    possible = np.ones((n, n_classes), dtype=bool)
    running = np.ones(n, dtype=bool)
    exit_index = np.full(n, n_exits, dtype=np.int64)
    reached = np.zeros((n, n_exits), dtype=bool)
    candidates = np.zeros((n, n_exits, n_classes), dtype=bool)
    excluded = np.zeros((n, n_exits), dtype=np.int64)
    for e, (probabilities, beta) in enumerate(zip(exit_probabilities, betas)):
        reached[:, e] = running
        candidates[:, e] = possible & running[:, None]
        after = np.where(running[:, None], exclude(probabilities, possible, beta), possible)
        excluded[:, e] = possible.sum(axis=1) - after.sum(axis=1)
        possible = after
        leaving = running & (possible.sum(axis=1) == 1)
        exit_index[leaving] = e
        running &= ~leaving
    prediction = np.where(possible, final_logits, -np.inf).argmax(axis=1)
    return ExitOutcome(prediction, exit_index, reached, candidates, excluded)

"""The classic early exit the class exclusion is compared with: a softmax classifier per exit and a threshold.

An image leaves at the first exit whose largest softmax probability exceeds
that exit's threshold, predicting that class; every other image is decided by
the final classifier. A threshold of 1 never lets an image leave.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from studies.early_exit.exclusion import ExitOutcome


def run_confidence(exit_probabilities: Sequence[np.ndarray], thresholds: Sequence[float],
                   final_logits: np.ndarray) -> ExitOutcome:
    """Pass N images through E softmax exits (N×C probabilities each), then the final classifier."""
    if len(exit_probabilities) != len(thresholds):
        raise ValueError(f"{len(exit_probabilities)} exits but {len(thresholds)} thresholds")
    n, n_classes = final_logits.shape
    n_exits = len(thresholds)
    running = np.ones(n, dtype=bool)
    exit_index = np.full(n, n_exits, dtype=np.int64)
    prediction = final_logits.argmax(axis=1)
    reached = np.zeros((n, n_exits), dtype=bool)
    for e, (probabilities, threshold) in enumerate(zip(exit_probabilities, thresholds)):
        reached[:, e] = running
        leaving = running & (probabilities.max(axis=1) > threshold)
        prediction = np.where(leaving, probabilities.argmax(axis=1), prediction)
        exit_index[leaving] = e
        running &= ~leaving
    candidates = np.broadcast_to(reached[:, :, None], (n, n_exits, n_classes))
    return ExitOutcome(prediction, exit_index, reached, candidates, np.zeros((n, n_exits), dtype=np.int64))

"""Timing simulation on several cores: contiguous chunks of the transitions in parallel threads.

Every transition starts from the circuit settled at its first vector, so the
transitions are independent and a chunk needs nothing from the one before it.
`simulate` runs each chunk (its compiled kernel releases the GIL) and the
results are joined in order: per-net counts and events add up, per-transition
arrays concatenate. The result equals `sim.simulate` on the whole sequence.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from characterize.timing.delays import TimedGates
from characterize.timing.sim import SimResult, simulate

MIN_CHUNK_TRANSITIONS = 5_000  # below this a thread costs more than it saves


def simulate_parallel(
    timed: TimedGates,
    inputs: Mapping[str, Iterable[int]],
    workers: int | None = None,
    per_transition: bool = False,
    net_weights: np.ndarray | None = None,
) -> SimResult:
    """`sim.simulate` with the transitions split over `workers` threads (default: the usable cores)."""
    columns = {name: np.asarray(values) for name, values in inputs.items()}
    shapes = {v.shape for v in columns.values()}
    transitions = next(iter(shapes))[0] - 1 if len(shapes) == 1 and len(next(iter(shapes))) == 1 else 0
    workers = workers or len(os.sched_getaffinity(0))
    chunks = max(1, min(workers, transitions // MIN_CHUNK_TRANSITIONS))
    if chunks == 1:  # also for malformed inputs, which simulate() rejects with its message
        return simulate(timed, columns, per_transition, net_weights)
    bounds = np.linspace(0, transitions, chunks + 1).astype(int)
    with ThreadPoolExecutor(chunks) as pool:
        parts = list(pool.map(
            lambda k: simulate(timed, {n: v[bounds[k]: bounds[k + 1] + 1] for n, v in columns.items()},
                               per_transition, net_weights),
            range(chunks),
        ))
    return join(parts)


def join(parts: list[SimResult]) -> SimResult:
    """One result for consecutive chunks of a transition sequence."""

    def concatenated(name: str) -> np.ndarray | None:
        arrays = [getattr(p, name) for p in parts]
        return None if arrays[0] is None else np.concatenate(arrays)

    return SimResult(
        toggles=sum(p.toggles for p in parts),
        settled_changes=sum(p.settled_changes for p in parts),
        sensitized_delay_steps=concatenated("sensitized_delay_steps"),
        settle_steps=concatenated("settle_steps"),
        events=sum(p.events for p in parts),
        resolution_s=parts[0].resolution_s,
        toggles_per_transition=concatenated("toggles_per_transition"),
        weighted_toggles=concatenated("weighted_toggles"),
    )

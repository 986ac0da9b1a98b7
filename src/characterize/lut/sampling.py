"""A stratified sample of weight values, for bit-widths whose every value is too many to characterize (16-bit).

Zero, ±1, every power of two (and its negative) and both extremes are always
in: they are the values networks and their cost curves depend on most. The
rest of the N values come one from each of equal-sized strata of the
remaining values in order, so the sample covers the range evenly.
"""

from __future__ import annotations

import numpy as np

from characterize.errors import SimulationError

SAMPLE_PREFIX = "sample:"


def anchor_weights(weights: range) -> set[int]:
    """Zero, ±1, ±powers of two and the extremes that lie in `weights`."""
    low, high = weights.start, weights.stop - 1
    powers = {sign * (1 << k) for k in range(max(abs(low), abs(high)).bit_length()) for sign in (1, -1)}
    return {w for w in powers | {0, low, high} if low <= w <= high}


def sample_weights(weights: range, n: int, seed: int = 0) -> tuple[int, ...]:
    """`n` values of `weights` (all of them when n covers the range), sorted; the same for the same seed."""
    anchors = anchor_weights(weights)
    if n < len(anchors):
        raise SimulationError(
            f"{SAMPLE_PREFIX}{n}: at least {len(anchors)} values are needed to hold zero, ±1, the powers of two "
            f"and the extremes of {weights.start}..{weights.stop - 1}"
        )
    if n >= len(weights):
        return tuple(weights)
    rest = np.setdiff1d(np.arange(weights.start, weights.stop), np.fromiter(anchors, dtype=np.int64))
    strata = np.array_split(rest, n - len(anchors))
    rng = np.random.default_rng(seed)
    picked = {int(stratum[rng.integers(len(stratum))]) for stratum in strata}
    return tuple(sorted(anchors | picked))

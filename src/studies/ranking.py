"""Orders of weight values by a LUT figure, how many of them a study keeps, and activation values allowed by a
delay threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dse.errors import ConfigError

if TYPE_CHECKING:
    from characterize.lut.table import Lut

RANKING_COLUMNS = {"energy": "energy_per_op_fJ", "delay": "max_sensitized_delay_ps", "area": "area_um2"}


def rank_weights(lut: Lut, candidates: np.ndarray, by: str) -> np.ndarray:
    """`candidates` from best (smallest figure) to worst; ties broken by energy, then magnitude, then value."""
    rows = lut.weights.loc[candidates]
    order = np.lexsort((candidates, np.abs(candidates), rows["energy_per_op_fJ"].to_numpy(dtype=float),
                        rows[RANKING_COLUMNS[by]].to_numpy(dtype=float)))
    return candidates[order]


def activation_delays(lut: Lut, weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per activation value, the worst sensitized delay (ps) over `weights` from the LUT's activation table.

    A (weight, activation) pair the table lacks (no characterized transition
    ended on it) counts with the weight's overall maximum sensitized delay, as
    the cost model does, so no delay is understated.
    """
    table = lut.activations
    rows = table[table["weight"].isin(weights)]
    pivot = rows.pivot_table(index="activation", columns="weight", values="max_sensitized_delay_ps", aggfunc="max")
    pivot = pivot.reindex(index=values, columns=weights)
    fallback = lut.weights.loc[weights, "max_sensitized_delay_ps"].to_numpy(dtype=float)
    delays = np.where(np.isnan(pivot.to_numpy(dtype=float)), fallback[None, :], pivot.to_numpy(dtype=float))
    return delays.max(axis=1)


def allowed_activations(lut: Lut, weights: np.ndarray, values: np.ndarray, threshold_ps: float) -> np.ndarray:
    """The activation `values` whose worst sensitized delay over `weights` is at most `threshold_ps`."""
    return values[activation_delays(lut, weights, values) <= threshold_ps]


def n_values_range(value: list[int] | None, available: int) -> list[int]:
    """`space.n_values` as [low, high], all values by default; ConfigError when it asks for more than the LUT has."""
    pair = value or [1, available]
    if pair[1] > available:
        raise ConfigError(f"space.n_values: upper bound {pair[1]} exceeds the {available} weight values of the LUT")
    return pair

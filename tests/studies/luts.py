"""Tiny LUTs built in memory with chosen per-weight figures."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from characterize.generators import operand_range
from characterize.lut.table import LUT_COLUMNS, Lut


def tiny_lut(energy: dict[int, float], area: dict[int, float], delay: dict[int, float],
             activation_delay: Callable[[int, int], float] | None = None, bits: int = 4, signed: bool = True) -> Lut:
    """A LUT of every `bits`-bit weight with the given per-weight figures; `activation_delay(w, a)` (ps) adds the
    activation table."""
    weights = sorted(energy)
    table = pd.DataFrame({
        "weight": weights, "mode": "mult", "arch": "array", "bits": bits, "signed": signed,
        "cells": 10, "area_um2": [area[w] for w in weights], "critical_delay_ps": 300.0,
        "max_sensitized_delay_ps": [delay[w] for w in weights], "mean_sensitized_delay_ps": 50.0,
        "energy_per_op_fJ": [energy[w] for w in weights], "toggles_per_op": 4.0, "glitches_per_op": 1.0,
        "leakage_nW": 1.0,
    })[list(LUT_COLUMNS)]
    activations = None
    if activation_delay is not None:
        values = operand_range(bits, signed=True)
        rows = [(w, a, 3, activation_delay(w, a), 1.0) for w in weights for a in values]
        activations = pd.DataFrame(rows, columns=["weight", "activation", "transitions", "max_sensitized_delay_ps",
                                                  "mean_energy_fJ"])
    return Lut(table, activations, {"bits": bits, "signed": signed})

"""Unit factors, defined once. Inside the code values are in SI units (s, F, J, W, V, m²); these convert at the edges.

`PS_PER_S` and friends multiply an SI value into a display unit (`delay_s * PS_PER_S`
is in ps); `S_PER_PS` and friends the other way. `SI_PREFIXES` reads unit strings
such as Liberty's "1ns" or a timescale's "ps".
"""

from __future__ import annotations

SI_PREFIXES = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3}

PS_PER_S = 1e12
S_PER_PS = 1e-12
FJ_PER_J = 1e15
FF_PER_F = 1e15
F_PER_FF = 1e-15
J_PER_FJ = 1e-15
NJ_PER_J = 1e9
NW_PER_W = 1e9
UW_PER_W = 1e6
UM2_PER_MM2 = 1e6


def reduction_pct(value: float, reference: float) -> float:
    """How much smaller `value` is than `reference`, in percent (negative when larger; 0 when the reference is 0)."""
    return 100.0 * (1.0 - value / reference) if reference else 0.0

"""Gate-level multiplier and MAC generators (array/Baugh-Wooley, radix-4 Booth, Wallace, Dadda)."""

from __future__ import annotations

from characterize.generators.multipliers import ADDERS, ARCHITECTURES, multiplier, operand_range

__all__ = ["ADDERS", "ARCHITECTURES", "multiplier", "operand_range"]

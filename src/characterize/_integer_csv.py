"""The compiled loop (numba) of `characterize.integer_csv`: rows of plain decimal integers parsed in one pass."""

from __future__ import annotations

import numpy as np
from numba import njit, types

MAX_DIGITS = 18  # fits int64 with room: longer numbers take the general reader


@njit(cache=True, nogil=True)
def parse_integer_rows(data, start, columns):
    """Rows of `columns` decimal integers from data[start:]; (values, True), or (anything, False) on anything else."""
    rows = 1
    for position in range(start, data.shape[0]):
        if data[position] == 10:
            rows += 1
    values = np.empty((rows, columns), np.int64)
    row = 0
    column = 0
    position = start
    size = data.shape[0]
    while position < size:
        while position < size and (data[position] == 32 or data[position] == 9):
            position += 1
        if position < size and (data[position] == 10 or data[position] == 13) and column == 0:
            if data[position] == 13:
                position += 1
                if position >= size or data[position] != 10:
                    return values, False
            position += 1  # a blank line
            continue
        if position >= size:
            break
        negative = False
        if data[position] == 45 or data[position] == 43:
            negative = data[position] == 45
            position += 1
        digits = 0
        value = 0
        while position < size and 48 <= data[position] <= 57:
            value = value * 10 + (data[position] - 48)
            digits += 1
            position += 1
        if digits == 0 or digits > MAX_DIGITS:
            return values, False
        while position < size and (data[position] == 32 or data[position] == 9):
            position += 1
        values[row, column] = -value if negative else value
        column += 1
        if position < size and data[position] == 44:
            if column == columns:
                return values, False
            position += 1
            continue
        if position < size and data[position] == 13:
            position += 1
        if position < size and data[position] != 10:
            return values, False
        if column != columns:
            return values, False
        position += 1
        row += 1
        column = 0
    if column != 0:
        return values, False
    return values[:row], True


# The reader's loop and its argument types, built ahead of time by characterize.build_loops.
AHEAD_OF_TIME = {
    "parse_integer_rows": (parse_integer_rows, types.Tuple((types.Array(types.int64, 2, "C"), types.boolean))(
        types.Array(types.uint8, 1, "C"), types.int64, types.int64)),
}

"""A fast reader for the common case of a vectors file: a header line, then rows of plain decimal integers.

A compiled loop (numba) parses the bytes in one pass, without importing pandas.
Anything else (quotes, hex, blank cells, ragged rows, a number of 19 digits or
more) makes it answer None, and the caller reads the file with its general
reader, which also words the errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

MAX_DIGITS = 18  # fits int64 with room: longer numbers take the general reader


def read_integer_csv(path: str | Path) -> tuple[list[str], np.ndarray] | None:
    """(header names, rows × columns int64) of a CSV of decimal integers, or None when the file is anything else.

    Spaces around cells are ignored and blank lines skipped, as pandas' reader with
    `skipinitialspace` reads them.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    end = int(np.argmax(data == ord("\n"))) if (data == ord("\n")).any() else len(data)
    try:
        header = data[:end].tobytes().decode().strip()
    except UnicodeDecodeError:
        return None
    if not header or '"' in header:
        return None
    names = [name.strip() for name in header.split(",")]
    values, ok = _parse_rows(data, end + 1, len(names))
    return (names, values) if ok else None


@njit(cache=True, nogil=True)
def _parse_rows(data, start, columns):
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

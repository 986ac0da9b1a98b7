"""A fast reader for the common case of a vectors file: a header line, then rows of plain decimal integers.

A compiled loop (`_integer_csv`, built ahead of time where possible) parses the
bytes in one pass, without importing pandas. Anything else (quotes, hex, blank cells, ragged rows, a number of 19 digits or
more) makes it answer None, and the caller reads the file with its general
reader, which also words the errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from characterize import compiled


def _jit_loop():
    """The just-in-time loop (numba), imported on first need."""
    from characterize import _integer_csv

    return _integer_csv


_parse_integer_rows = compiled.loop("parse_integer_rows", _jit_loop)


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
    values, ok = _parse_integer_rows(data, end + 1, len(names))
    return (names, values) if ok else None

"""Reading user CSV files with one-line errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cells.errors import GatedseError


def read_csv(path: str | Path, error: type[GatedseError], what: str, **options) -> pd.DataFrame:
    """`path` as a DataFrame; a missing or unreadable file raises `error` naming it as `what`."""
    path = Path(path)
    try:
        return pd.read_csv(path, **options)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not a readable CSV: {str(exc).splitlines()[0]}") from None

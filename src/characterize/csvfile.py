"""Reading user CSV files with one-line errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cells.errors import GatedseError

if TYPE_CHECKING:
    import pandas as pd


def read_csv(path: str | Path, error: type[GatedseError], what: str, **options) -> pd.DataFrame:
    """`path` as a DataFrame; a missing or unreadable file raises `error` naming it as `what`."""
    import pandas as pd  # a quarter of a second: only the files that need it pay for it

    path = Path(path)
    try:
        return pd.read_csv(path, **options)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not a readable CSV: {str(exc).splitlines()[0]}") from None

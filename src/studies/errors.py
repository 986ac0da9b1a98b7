"""Errors of the studies package."""

from __future__ import annotations

from cells.errors import GatedseError


class StudiesError(GatedseError):
    """Raised on a user-facing error of the neural-network side."""


class DataError(StudiesError):
    """A data set file or folder is missing or malformed, or the [data] settings are invalid."""


class ModelError(StudiesError):
    """The [model] settings are invalid or do not fit the data."""

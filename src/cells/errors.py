"""Exception roots shared by every gatedse package."""

from __future__ import annotations


class GatedseError(Exception):
    """Raised on any user-facing error: bad input, missing tool, impossible request."""


class LibraryError(GatedseError):
    """A Liberty library is malformed, incomplete, or lacks a needed cell function."""

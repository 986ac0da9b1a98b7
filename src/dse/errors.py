"""Errors of the dse package."""

from __future__ import annotations

from cells.errors import GatedseError


class DseError(GatedseError):
    """Root of the design-space exploration errors."""


class ConfigError(DseError):
    """A study file (or a study kind's settings) is malformed: names the file, the key path and the reason."""


class StudyError(DseError):
    """A study cannot be found, opened or continued as asked (unknown name, mismatched objectives, bad storage)."""


class Stopped(Exception):
    """Work ended early on request (the run's stop event was set, e.g. by a first Ctrl-C); not an input error."""

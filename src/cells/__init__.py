"""The standard-cell library: Liberty reading and writing, cell functions, the default library."""

from cells.errors import GatedseError, LibraryError
from cells.liberty_reader import read_liberty
from cells.model import Cell, Library, PowerArc, TimingArc, Units, WireLoad
from cells.tables import Table

__all__ = [
    "Cell",
    "GatedseError",
    "Library",
    "LibraryError",
    "PowerArc",
    "Table",
    "TimingArc",
    "Units",
    "WireLoad",
    "read_liberty",
]

"""The standard-cell library: Liberty reading and writing, cell functions, the default library."""

from cells.errors import GatedseError, LibraryError
from cells.liberty_reader import read_liberty
from cells.liberty_writer import format_liberty, write_liberty
from cells.model import Cell, Library, PowerArc, TimingArc, Units, WireLoad
from cells.tables import Table
from cells.transistors import transistor_count
from cells.verilog_models import format_cell_models

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
    "format_cell_models",
    "format_liberty",
    "read_liberty",
    "transistor_count",
    "write_liberty",
]

"""The standard-cell library: Liberty reading and writing, cell functions, the default library.

The public names below are imported on first use, so that importing a light
module of the package (`cells.errors`, `cells.units`, `cells.files`) does not
load numpy and the Liberty reader: the command line starts in a fraction of a second.
"""

from __future__ import annotations

__version__ = "0.1.0"  # of the whole gatedse package; pyproject.toml reads it from here

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


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from cells import errors, liberty_reader, liberty_writer, model, tables, transistors, verilog_models

    for module in (errors, liberty_reader, liberty_writer, model, tables, transistors, verilog_models):
        globals().update({key: getattr(module, key) for key in __all__ if hasattr(module, key)})
    return globals()[name]

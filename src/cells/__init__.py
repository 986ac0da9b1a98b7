"""The standard-cell library: Liberty reading and writing, cell functions, the default library.

Names are imported on first use (PEP 562), so `import cells.errors` does not
pull in the Liberty parser and sympy that reading and writing need.
"""

from __future__ import annotations

from importlib import import_module

_SOURCES = {
    "Cell": "cells.model",
    "GatedseError": "cells.errors",
    "Library": "cells.model",
    "LibraryError": "cells.errors",
    "PowerArc": "cells.model",
    "Table": "cells.tables",
    "TimingArc": "cells.model",
    "Units": "cells.model",
    "WireLoad": "cells.model",
    "format_cell_models": "cells.verilog_models",
    "format_liberty": "cells.liberty_writer",
    "read_liberty": "cells.liberty_reader",
    "transistor_count": "cells.transistors",
    "write_liberty": "cells.liberty_writer",
}

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


def __getattr__(name: str):
    if name not in _SOURCES:
        raise AttributeError(f"module 'cells' has no attribute {name!r}")
    return getattr(import_module(_SOURCES[name]), name)

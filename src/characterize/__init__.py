"""From a weight value to numbers: netlists, generators, weight embedding, simulation.

Names are imported on first use (PEP 562), so `import characterize.errors`
stays light for the command line.
"""

from __future__ import annotations

from importlib import import_module

_SOURCES = {
    "CONST0": "characterize.netlist.ir",
    "CONST1": "characterize.netlist.ir",
    "GeneratorError": "characterize.errors",
    "Instance": "characterize.netlist.ir",
    "Netlist": "characterize.netlist.ir",
    "NetlistBuilder": "characterize.netlist.builder",
    "NetlistError": "characterize.errors",
    "Port": "characterize.netlist.ir",
}

__all__ = [
    "CONST0",
    "CONST1",
    "GeneratorError",
    "Instance",
    "Netlist",
    "NetlistBuilder",
    "NetlistError",
    "Port",
]


def __getattr__(name: str):
    if name not in _SOURCES:
        raise AttributeError(f"module 'characterize' has no attribute {name!r}")
    return getattr(import_module(_SOURCES[name]), name)

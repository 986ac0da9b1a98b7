"""From a weight value to numbers: netlists, generators, weight embedding, simulation.

The public names below are imported on first use, so that importing a light
module of the package (`characterize.errors`, `characterize.choices`) does not load numpy.
"""

from __future__ import annotations

__all__ = ["CONST0", "CONST1", "GeneratorError", "Instance", "Netlist", "NetlistBuilder", "NetlistError", "Port"]


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from characterize import errors
    from characterize.netlist import builder, ir

    for module in (errors, builder, ir):
        globals().update({key: getattr(module, key) for key in __all__ if hasattr(module, key)})
    return globals()[name]

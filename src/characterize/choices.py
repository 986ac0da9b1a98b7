"""The names a user chooses a design by: multiplier architectures, final adders, embedding strategies, sweep modes,
cell sizing.

Kept apart from the modules that build the designs so that the command line
can offer them without importing numpy and the generators.
"""

from __future__ import annotations

ARCHITECTURES = ("array", "booth", "wallace", "dadda")
ADDERS = ("ripple", "cla")
STRATEGIES = ("simplify", "yosys", "best")
MODES = ("stationary", "embedded")  # weight held at the generic multiplier's port, or embedded in the design
SIZE_FOR = ("area", "delay")  # each function's smallest cell, or larger sizes where they shorten the critical path

"""The gate-level netlist: the IR, building by role, structural Verilog, cell matching, zero-delay logic."""

from __future__ import annotations

from characterize.netlist.builder import NetlistBuilder
from characterize.netlist.ir import CONST0, CONST1, Instance, Netlist, Port

__all__ = ["CONST0", "CONST1", "Instance", "Netlist", "NetlistBuilder", "Port"]

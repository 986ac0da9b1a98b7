"""From a weight value to numbers: netlists, generators, weight embedding, simulation."""

from characterize.errors import GeneratorError, NetlistError
from characterize.netlist.builder import NetlistBuilder
from characterize.netlist.ir import CONST0, CONST1, Instance, Netlist, Port

__all__ = ["CONST0", "CONST1", "GeneratorError", "Instance", "Netlist", "NetlistBuilder", "NetlistError", "Port"]

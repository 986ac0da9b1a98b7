"""Zero-delay functional evaluation of a netlist over many input vectors at once.

Used to prove that generated and simplified netlists compute what they should
(`a * w` for every `a`); each gate is one table lookup over numpy arrays.
"""

from __future__ import annotations

import numpy as np

from characterize.errors import NetlistError
from characterize.netlist.ir import CONST1, UNCONNECTED, Netlist, Port


def port_bits(port: Port, values: np.ndarray) -> np.ndarray:
    """Two's complement bits (LSB first, shape width × N) of integer `values` for `port`."""
    values = np.asarray(values, dtype=np.int64)
    shifts = np.arange(port.width, dtype=np.int64)[:, None]
    return ((values[None, :] >> shifts) & 1).astype(np.uint8)


def bits_value(bits: np.ndarray, signed: bool) -> np.ndarray:
    """Integers from bits (LSB first, width × N), two's complement when `signed`."""
    width = bits.shape[0]
    weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
    value = (bits.astype(np.int64) * weights[:, None]).sum(axis=0)
    if signed:
        value = np.where(bits[-1] == 1, value - (np.int64(1) << width), value)
    return value


def evaluate(netlist: Netlist, inputs: dict[str, np.ndarray], signed: bool = False) -> dict[str, np.ndarray]:
    """Values of every output port for N input vectors (integers per input port)."""
    values = net_values(netlist, inputs)
    return {p.name: bits_value(values[list(p.nets)], signed) for p in netlist.outputs}


def net_values(netlist: Netlist, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """Settled value of every net (rows) for every vector (columns), as uint8."""
    missing = {p.name for p in netlist.inputs} - set(inputs)
    if missing:
        raise NetlistError(f"no values given for input port(s) {', '.join(sorted(missing))}")
    count = len(np.asarray(next(iter(inputs.values()))))
    values = np.zeros((len(netlist.nets), count), dtype=np.uint8)
    values[CONST1] = 1
    for port in netlist.inputs:
        values[list(port.nets)] = port_bits(port, inputs[port.name])
    cells = netlist.library.cells
    for index in netlist.order:
        inst = netlist.instances[index]
        cell = cells[inst.cell]
        if cell.sequential:
            raise NetlistError(f"instance {inst.name}: sequential cell {cell.name} cannot be evaluated combinationally")
        selector = np.zeros(count, dtype=np.int64)
        for pin, net in enumerate(inst.inputs):
            selector |= values[net].astype(np.int64) << pin
        for table, net in zip(cell.truth_tables, inst.outputs):
            if net != UNCONNECTED:
                lookup = np.array([(table >> i) & 1 for i in range(1 << len(inst.inputs))], dtype=np.uint8)
                values[net] = lookup[selector]
    return values

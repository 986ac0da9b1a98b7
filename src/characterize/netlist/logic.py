"""Zero-delay functional evaluation of a netlist over many input vectors at once.

Used to prove that generated and simplified netlists compute what they should
(`a * w` for every `a`); each gate is one table lookup over numpy arrays.
"""

from __future__ import annotations

import numpy as np

from characterize.errors import NetlistError
from characterize.netlist.ir import CONST1, UNCONNECTED, Netlist, Port

WIDE_BITS = 62  # ports wider than this hold values as Python ints (object arrays) instead of int64


def port_bits(port: Port, values: np.ndarray) -> np.ndarray:
    """Two's complement bits (LSB first, shape width × N) of integer `values` for `port`.

    `values` may be int64 or, for any width, an object array of Python ints.
    """
    values = np.asarray(values)
    if values.dtype == object or port.width > WIDE_BITS:
        mask = (1 << port.width) - 1
        rows = [format(int(v) & mask, f"0{port.width}b")[::-1] for v in values]
        matrix = np.frombuffer("".join(rows).encode(), dtype=np.uint8).reshape(len(rows), port.width) - ord("0")
        return np.ascontiguousarray(matrix.T)
    values = values.astype(np.int64)
    shifts = np.arange(port.width, dtype=np.int64)[:, None]
    return ((values[None, :] >> shifts) & 1).astype(np.uint8)


def bits_value(bits: np.ndarray, signed: bool) -> np.ndarray:
    """Integers from bits (LSB first, width × N), two's complement when `signed`.

    Wider than `WIDE_BITS`, the result is an object array of Python ints.
    """
    width = bits.shape[0]
    if width > WIDE_BITS:
        texts = ("".join(map(str, column[::-1])) for column in bits.T.tolist())
        values = [int(text, 2) if text else 0 for text in texts]
        if signed:
            values = [v - (1 << width) if v >> (width - 1) else v for v in values]
        return np.array(values, dtype=object)
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

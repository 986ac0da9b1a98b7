"""The weight-stationary processing element (PE) of a systolic array, as a clocked gate netlist.

Ports: clock `clk`; inputs `w` (weight, `bits` wide), `a` (activation from the
west neighbour, `bits` wide) and `psum_in` (partial sum from the north, `acc_bits`
wide); outputs `a_out` (the registered activation, passed east) and `psum_out` (the
registered partial sum, passed south). Inside: a weight register loading `w` every
cycle (a weight-stationary array holds `w`, so it never toggles), the activation
register, the MAC `psum_in + a_reg * w_reg` (multiplier and accumulator adder in one
reduction tree, from `generators.multipliers`) and the partial-sum register. With an
embedded weight the MAC is given as the weight-embedded one and there is neither a
`w` port nor a weight register. MAC instances are named `mac_*`, registers
`w_reg*`, `a_reg*` and `psum_reg*`, so reports can split area and energy.
"""

from __future__ import annotations

from cells.model import Library
from characterize.errors import GeneratorError
from characterize.netlist.builder import NetlistBuilder
from characterize.netlist.ir import CONST_NAMES, UNCONNECTED, Instance, Netlist, Port

MAC_PREFIX = "mac_"
PORTS = ("clk", "w", "a", "psum_in", "a_out", "psum_out")


def register_cell(library: Library) -> str:
    """The smallest plain D flip-flop of the library: rising edge, next state D, no clear, preset or enable."""
    found = []
    for cell in library.cells.values():
        register = cell.register
        if register is None or register.kind != "ff" or register.clear or register.preset or len(cell.outputs) != 1:
            continue
        if len(cell.inputs) == 2 and {register.clock, register.data} == set(cell.inputs) and \
                cell.functions.get(cell.outputs[0]) == register.state[0]:
            found.append((cell.area, cell.name))
    if not found:
        raise GeneratorError(f"library {library.source or library.name} has no plain rising-edge D flip-flop")
    return min(found)[1]


def processing_element(mac: Netlist, bits: int, acc_bits: int, name: str) -> Netlist:
    """Wrap a MAC netlist (ports a, optional w, acc; output y of `acc_bits`) with the PE's registers."""
    library = mac.library
    flop = register_cell(library)
    cell = library.cells[flop]
    register = cell.register
    builder = NetlistBuilder(name, library)
    clock = builder.new_net("clk")
    builder.ports.append(Port("clk", "input", (clock,)))
    embedded = not any(p.name == "w" for p in mac.ports)
    w = [] if embedded else builder.input("w", bits)
    a = builder.input("a", bits)
    psum_in = builder.input("psum_in", acc_bits)

    def flops(prefix: str, data: list[int]) -> list[int]:
        outputs = []
        for i, net in enumerate(data):
            q = builder.new_net(f"{prefix}_q[{i}]")
            pins = {register.clock: clock, register.data: net}
            builder.instances.append(Instance(f"{prefix}_reg{i}", flop, tuple(pins[p] for p in cell.inputs), (q,)))
            outputs.append(q)
        return outputs

    w_q = flops("w", w)
    a_q = flops("a", a)
    mapping = {0: 0, 1: 1}
    for port, nets in (("a", a_q), ("w", w_q), ("acc", psum_in)):
        if any(p.name == port for p in mac.ports):
            mapping.update(zip(mac.port(port).nets, nets))
    for net in range(len(CONST_NAMES), len(mac.nets)):
        if net not in mapping:
            mapping[net] = builder.new_net(f"{MAC_PREFIX}{mac.nets[net].lstrip(chr(92))}")
    for inst in mac.instances:
        outputs = tuple(UNCONNECTED if n == UNCONNECTED else mapping[n] for n in inst.outputs)
        builder.instances.append(Instance(MAC_PREFIX + inst.name, inst.cell, tuple(mapping[n] for n in inst.inputs), outputs))
    psum = flops("psum", [mapping[n] for n in mac.port("y").nets])
    builder.output("a_out", a_q)
    builder.output("psum_out", psum)
    return builder.build()

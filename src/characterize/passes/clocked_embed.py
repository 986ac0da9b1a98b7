"""Weight embedding in a netlist with flip-flops: the logic between the registers is simplified, registers that the
constant weight fixes are removed.

The registers are cut out (`cut_registers`): each connected register output becomes
an input port of a combinational core, the net at each register input pin an output
port of it. The weight port of the core is tied to the constant and the core
simplified. A flip-flop whose pins other than its clock are then constant (its clock
not: a clock the weight stops never loads a value), with no clear or preset active, holds one value from its first clock edge on
(`steady_registers`): it is removed and its outputs are tied to that value in the core,
which is simplified again. The kept registers are put back around the simplified core
(`stitch`). The core is what the equivalence check compares: against the unembedded
core with the removed registers' outputs tied to their values, which is the
unembedded netlist from the first clock edge on (a weight register that loads the
port every cycle holds the weight from then on).
"""

from __future__ import annotations

import itertools

from cells.functions import function_variables, truth_table
from characterize.errors import NetlistError
from characterize.netlist.ir import CONST0, CONST1, UNCONNECTED, Instance, Netlist, Port

STATE_PORT = "gatedse_q{register}_{pin}"  # core input: register output pin
PIN_PORT = "gatedse_d{register}_{pin}"  # core output: register input pin


def _registers(netlist: Netlist) -> list[int]:
    return [i for i, inst in enumerate(netlist.instances) if netlist.library.cells[inst.cell].sequential]


def _internal_ports(netlist: Netlist) -> set[str]:
    """The names of the core's ports that stand for register pins."""
    names = set()
    for r, index in enumerate(_registers(netlist)):
        inst = netlist.instances[index]
        names.update(STATE_PORT.format(register=r, pin=k) for k, net in enumerate(inst.outputs) if net != UNCONNECTED)
        names.update(PIN_PORT.format(register=r, pin=j) for j in range(len(inst.inputs)))
    return names


def cut_registers(netlist: Netlist) -> Netlist:
    """The combinational core: `netlist` without its registers, their outputs as inputs and input pins as outputs."""
    clash = _internal_ports(netlist) & {p.name for p in netlist.ports}
    if clash:
        raise NetlistError(f"{netlist.source or netlist.name}: port {min(clash)} clashes with a name used to "
                           "embed the weight")
    ports = list(netlist.inputs)
    for r, index in enumerate(_registers(netlist)):
        for k, net in enumerate(netlist.instances[index].outputs):
            if net != UNCONNECTED:
                ports.append(Port(STATE_PORT.format(register=r, pin=k), "input", (net,)))
    ports += list(netlist.outputs)
    for r, index in enumerate(_registers(netlist)):
        for j, net in enumerate(netlist.instances[index].inputs):
            ports.append(Port(PIN_PORT.format(register=r, pin=j), "output", (net,)))
    instances = [inst for inst in netlist.instances if not netlist.library.cells[inst.cell].sequential]
    return Netlist(netlist.name, netlist.library, netlist.nets, ports, instances, netlist.vectors, netlist.source)


def steady_registers(netlist: Netlist, core: Netlist) -> dict[int, tuple[int, ...]]:
    """Register number -> the value of each output pin, for the flip-flops whose every input pin but the clock is
    constant in `core` (a simplified `cut_registers(netlist)`), whose clock is not, with clear and preset inactive and a
    next state that does not depend on the state: they hold that value from their first clock edge on."""
    steady = {}
    for r, index in enumerate(_registers(netlist)):
        inst = netlist.instances[index]
        cell = netlist.library.cells[inst.cell]
        register = cell.register
        if register is None or register.kind != "ff":
            continue
        clock_pins = function_variables(register.clock)
        pins = [core.port(PIN_PORT.format(register=r, pin=j)).nets[0] for j in range(len(inst.inputs))]
        fixed = {j: net for j, net in enumerate(pins) if net in (CONST0, CONST1)}
        if any(cell.inputs[j] not in clock_pins and j not in fixed for j in range(len(pins))):
            continue
        if any(cell.inputs[j] in clock_pins for j in fixed):  # a clock the weight stops: it never loads the value
            continue
        state, inverse = register.state
        names = cell.inputs + (state, inverse)
        tables = {"data": truth_table(register.data, names)}
        for kind in ("clear", "preset"):
            if getattr(register, kind):
                tables[kind] = truth_table(getattr(register, kind), names)
        seen = {kind: set() for kind in tables}
        free = [j for j in range(len(pins)) if j not in fixed]
        for values in itertools.product((0, 1), repeat=len(free) + 1):
            bits = {**{j: int(fixed[j] == CONST1) for j in fixed}, **dict(zip(free, values[:-1]))}
            q = values[-1]
            code = sum(bits[j] << j for j in bits) | (q << len(pins)) | ((1 - q) << (len(pins) + 1))
            for kind, table in tables.items():
                seen[kind].add((table >> code) & 1)
        if len(seen["data"]) != 1 or any(seen[kind] != {0} for kind in ("clear", "preset") if kind in seen):
            continue
        value = seen["data"].pop()
        outputs = []
        for pin in cell.outputs:
            table = truth_table(cell.functions[pin], (state, inverse))
            outputs.append((table >> (value | ((1 - value) << 1))) & 1)
        steady[r] = tuple(outputs)
    return steady


def tie_states(core: Netlist, netlist: Netlist, steady: dict[int, tuple[int, ...]]) -> Netlist:
    """`core` with the output ports of the `steady` registers removed and their nets tied to their values."""
    constant = {}
    registers = _registers(netlist)
    for r, values in steady.items():
        inst = netlist.instances[registers[r]]
        for k, (net, value) in enumerate(zip(inst.outputs, values)):
            if net != UNCONNECTED:
                constant[core.port(STATE_PORT.format(register=r, pin=k)).nets[0]] = CONST1 if value else CONST0
    tied = {STATE_PORT.format(register=r, pin=k) for r in steady for k in range(len(steady[r]))}
    instances = [Instance(i.name, i.cell, tuple(constant.get(n, n) for n in i.inputs), i.outputs, i.line)
                 for i in core.instances]
    ports = [Port(p.name, p.direction, tuple(constant.get(n, n) for n in p.nets), p.msb, p.lsb)
             for p in core.ports if p.name not in tied]
    return Netlist(core.name, core.library, core.nets, ports, instances, core.vectors, core.source)


def stitch(netlist: Netlist, core: Netlist, steady: dict[int, tuple[int, ...]], name: str) -> Netlist:
    """The registers of `netlist` but the `steady` ones put back around `core`; `core`'s internal ports removed."""
    instances = list(core.instances)
    for r, index in enumerate(_registers(netlist)):
        if r in steady:
            continue
        inst = netlist.instances[index]
        inputs = tuple(core.port(PIN_PORT.format(register=r, pin=j)).nets[0] for j in range(len(inst.inputs)))
        outputs = tuple(UNCONNECTED if net == UNCONNECTED else core.port(STATE_PORT.format(register=r, pin=k)).nets[0]
                        for k, net in enumerate(inst.outputs))
        instances.append(Instance(inst.name, inst.cell, inputs, outputs, inst.line))
    internal = _internal_ports(netlist)
    ports = [p for p in core.ports if p.name not in internal]
    return Netlist(name, core.library, core.nets, ports, instances, core.vectors, netlist.source)

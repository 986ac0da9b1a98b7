"""VCD waveforms of simulated transitions, written with pyvcd.

The layout is that of Icarus Verilog's dump of the timed netlist replay
(`timed_verilog`): vector i is applied at i × period, transition i runs from
(i + 1) × period. The top module is one scope; a net whose flattened name
carries a hierarchy (`u1.u2.n5` or `u1/u2/n5`) sits in scopes `u1` > `u2` under
it. Every net is a 1-bit wire; every port and declared vector is also dumped
as a vector (`a[7:0]`), whose value changes once per time step, to the value at
its end. A port bit that is another net (an input bit, a net named otherwise)
is an alias of that net's wire; a port bit tied to a constant is a wire that
keeps its value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from vcd import VCDWriter

from cells.cache import package_version
from cells.files import atomic_path
from characterize.errors import SimulationError
from characterize.netlist.ir import CONST_NAMES, Netlist
from characterize.netlist.verilog import port_bit
from characterize.timing.delays import TimedGates, timescale_unit
from characterize.timing.kernel import KernelCircuit, run_transitions
from characterize.timing.sim import VCD_CHUNK, input_bit_matrix
from characterize.timing.timed_verilog import module_name

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_$]*"
_HIERARCHICAL = re.compile(rf"^((?:{_IDENTIFIER}[./])+)({_IDENTIFIER}(?:\[\d+\])?)$")
_VECTOR_BIT = re.compile(rf"^({_IDENTIFIER})\[(\d+)\]$")


@dataclass(frozen=True)
class Bus:
    """A vector in the VCD: its scope, name, declared range and nets (LSB first)."""

    scope: tuple[str, ...]
    name: str
    msb: int
    lsb: int
    nets: tuple[int, ...]


def net_scope(netlist: Netlist, net: int) -> tuple[tuple[str, ...], str]:
    """The scope (top module first) and reference of a net's wire: hierarchy split off a flattened name."""
    name = netlist.nets[net].lstrip("\\").strip()
    top = (module_name(netlist),)
    match = _HIERARCHICAL.match(name)
    if match is None:
        return top, name
    return top + tuple(re.split(r"[./]", match[1])[:-1]), match[2]


def buses(netlist: Netlist) -> list[Bus]:
    """Every vector port, and every other declared vector whose bits are all nets of the top module."""
    top = (module_name(netlist),)
    found = [Bus(top, p.name.lstrip("\\").strip(), p.msb, p.lsb, p.nets) for p in netlist.ports if p.msb is not None]
    ports = {p.name for p in netlist.ports}
    index = {name: n for n, name in enumerate(netlist.nets)}
    for name, (msb, lsb) in netlist.vectors.items():
        step = 1 if msb >= lsb else -1
        bits = [index.get(f"{name}[{k}]") for k in range(lsb, msb + step, step)]
        if name not in ports and all(n is not None for n in bits):
            found.append(Bus(top, name, msb, lsb, tuple(bits)))
    return found


def write_vcd(
    timed: TimedGates,
    inputs: Mapping[str, Iterable[int]],
    path: str | Path,
    transitions: Iterable[int] | None = None,
    period_steps: int | None = None,
) -> Path:
    """Write a VCD of the chosen transitions (all by default).

    Vector i is applied at time i × `period_steps` (default: the settling bound
    plus one step), so transition i runs from (i + 1) × period. Where a chosen
    transition does not follow the one before, the nets jump to its start state at
    its vector's time, as if that vector had settled instantly; before the first
    chosen vector's time every value is unknown (x).
    """
    bits = input_bit_matrix(timed, inputs)
    count = len(bits) - 1
    chosen = np.unique(np.fromiter(range(count) if transitions is None else transitions, dtype=np.int64))
    if len(chosen) == 0 or chosen[0] < 0 or chosen[-1] >= count:
        raise SimulationError(f"transitions must be a non-empty set of indices from 0 to {count - 1}")
    period = timed.settle_bound_steps + 1 if period_steps is None else int(period_steps)
    if period <= timed.settle_bound_steps:
        raise SimulationError(f"period_steps {period} is not longer than the settling bound {timed.settle_bound_steps}")
    circuit = KernelCircuit.from_timed(timed)
    state = circuit.initial_state()
    circuit.settle(state, bits[chosen[0]])
    netlist = timed.netlist
    date = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")
    with atomic_path(path) as partial, partial.open("w") as out, VCDWriter(
        out, timescale=timescale_unit(timed.resolution_s), date=date,
        version=f"gatedse {package_version()} timing simulator",
    ) as writer:
        wires, vectors = _register(writer, netlist)
        bus_nets = [np.array(bus.nets[::-1]) for bus, _ in vectors]
        net_buses: dict[int, list[int]] = {}
        for b, (bus, _) in enumerate(vectors):
            for net in bus.nets:
                net_buses.setdefault(net, []).append(b)
        shown = state.values.copy()
        start = int(chosen[0]) * period
        for net, wire in wires.items():
            writer.change(wire, start, int(shown[net]))
        _change_buses(writer, vectors, bus_nets, range(len(vectors)), shown, start)
        for chunk in np.array_split(chosen, -(-len(chosen) // VCD_CHUNK)):
            shown, time, dirty = state.values.copy(), start, set()
            run = run_transitions(circuit, state, bits, chunk, chunk + 1, record=True)
            for k, step, net in run.log.tolist():
                moment = int(chunk[k]) * period if step < 0 else (int(chunk[k]) + 1) * period + step
                if moment != time:
                    _change_buses(writer, vectors, bus_nets, dirty, shown, time)
                    time, dirty = moment, set()
                shown[net] ^= 1
                writer.change(wires[net], moment, int(shown[net]))
                dirty.update(net_buses.get(net, ()))
            _change_buses(writer, vectors, bus_nets, dirty, shown, time)
    return Path(path)


def _register(writer: VCDWriter, netlist: Netlist) -> tuple[dict, list]:
    """Declare every net's wire, the port bits that are other nets or constants, and the buses."""
    wires, taken = {}, set()
    for net in range(len(CONST_NAMES), len(netlist.nets)):
        scope, name = net_scope(netlist, net)
        wires[net] = writer.register_var(scope, name, "wire", 1)
        taken.add((scope, name))
    top = (module_name(netlist),)
    for port in netlist.ports:
        for j, net in enumerate(port.nets):
            name = port_bit(port, j)[0].lstrip("\\").strip()
            if (top, name) in taken:
                continue
            taken.add((top, name))
            if net < len(CONST_NAMES):
                writer.register_var(top, name, "wire", 1, init=net)
            else:
                writer.register_alias(top, name, wires[net])
    vectors = []
    for bus in buses(netlist):
        known = "".join(str(net) if net < len(CONST_NAMES) else "x" for net in reversed(bus.nets))  # constant bits
        vectors.append((bus, writer.register_var(bus.scope, bus.name, "wire", len(bus.nets), init=known,
                                                 bit_index=(bus.msb, bus.lsb))))
    return wires, vectors


def _change_buses(writer: VCDWriter, vectors: list, bus_nets: list[np.ndarray], which: Iterable[int],
                  shown: np.ndarray, time: int) -> None:
    """Dump the value of the given buses at `time`: their bits, MSB first, as one integer."""
    for b in which:
        writer.change(vectors[b][1], time, int("".join(map(str, shown[bus_nets[b]].tolist())), 2))


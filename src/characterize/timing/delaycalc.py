"""NLDM delay calculation per timing arc, with slews propagated from the primary inputs, as OpenSTA computes it.

Every timing arc of every instance (input pin -> output pin, one per input and
output edge its `timing_sense` allows) gets a delay and an output transition
from the Liberty tables at the arc's actual input slew and the output net's
load. Slews start at the primary inputs (`input_slew_s`) and propagate in
topological order: a pin's slew for an edge is the worst over the arcs that
drive it (OpenSTA's default). The load of a net for an output edge is the rise
or fall capacitance of its fanout pins, plus `output_load_f` per output-port
bit, plus the wire capacitance of the library's default wire-load model for
the net's fanout (each output port counts as one sink). The wire resistance of
that model, shared equally by the sinks (OpenSTA's balanced tree), gives each
sink an Elmore delay (resistance/fanout × (wire capacitance/fanout + the
sink pin's capacitance); an output port adds no pin capacitance of its own):
the interconnect delay OpenSTA writes as SDF `INTERCONNECT`. A sink's slew is
the driver's. OpenSTA refines a driver that sees a resistive load by an
effective capacitance (its DMP algorithm); this calculation uses the full
capacitance, a difference below 0.5 % on the library's wire loads.

`net_slews_s` is what the energy calculation reads: per net and edge the
transition time at the driver, in seconds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cells.errors import LibraryError
from cells.model import Cell
from characterize.errors import NetlistError
from characterize.netlist.ir import CONST0, CONST1, UNCONNECTED, Netlist

RISE, FALL = 0, 1
EDGES = ("rise", "fall")


def edge_pairs(timing_sense: str) -> tuple[tuple[int, int], ...]:
    """(input edge, output edge) pairs a timing arc of this sense carries."""
    if timing_sense == "positive_unate":
        return (RISE, RISE), (FALL, FALL)
    if timing_sense == "negative_unate":
        return (RISE, FALL), (FALL, RISE)
    return (RISE, RISE), (FALL, FALL), (RISE, FALL), (FALL, RISE)


@dataclass(frozen=True)
class ArcDelay:
    """One edge of one instance's timing arc: `from_pin` changing on `from_edge` moves `to_pin` on `to_edge`
    after `delay_s`, with output transition `slew_s` (s)."""

    instance: int
    from_pin: str
    to_pin: str
    from_edge: int
    to_edge: int
    delay_s: float
    slew_s: float


@dataclass(frozen=True, eq=False)
class DelayCalculation:
    """Arc and interconnect delays of a netlist, with the slews and loads they were computed at.

    `load_f` and `net_slews_s` are (nets × 2) arrays, column `RISE` and `FALL`:
    the capacitance a driver sees for that output edge and the worst transition
    at the driver (the input slew at an input port; 0 where the edge never comes).
    `sink_delay_s[(instance, pin index)]` and `port_delay_s[net]` are the
    interconnect delays (rise, fall) to an instance input pin and to an
    output-port bit; `sink_slew_s` the slews (rise, fall) at instance input pins.
    """

    netlist: Netlist
    input_slew_s: float
    output_load_f: float
    load_f: np.ndarray
    net_slews_s: np.ndarray
    arcs: tuple[ArcDelay, ...]
    sink_delay_s: dict[tuple[int, int], tuple[float, float]]
    port_delay_s: dict[int, tuple[float, float]]
    sink_slew_s: dict[tuple[int, int], tuple[float, float]]

    @cached_property
    def arcs_by_instance(self) -> dict[int, tuple[ArcDelay, ...]]:
        grouped: dict[int, list[ArcDelay]] = defaultdict(list)
        for arc in self.arcs:
            grouped[arc.instance].append(arc)
        return {k: tuple(v) for k, v in grouped.items()}

    def iopath_s(self, instance: int) -> dict[tuple[str, str], tuple[float, float]]:
        """Per (input pin, output pin) of an instance the largest (rise, fall) output delay, as an SDF IOPATH."""
        paths: dict[tuple[str, str], list[float]] = {}
        for arc in self.arcs_by_instance.get(instance, ()):
            worst = paths.setdefault((arc.from_pin, arc.to_pin), [0.0, 0.0])
            worst[arc.to_edge] = max(worst[arc.to_edge], arc.delay_s)
        return {key: (rise, fall) for key, (rise, fall) in paths.items()}


def sink_counts(netlist: Netlist) -> np.ndarray:
    """Sinks per net: instance input pins plus output-port bits (OpenSTA counts a port as one)."""
    counts = np.array([len(s) for s in netlist.fanout], dtype=np.int64)
    for port in netlist.outputs:
        for net in port.nets:
            counts[net] += 1
    return counts


def calculate_delays(netlist: Netlist, input_slew_s: float, output_load_f: float) -> DelayCalculation:
    """Arc delays and slews of every instance, interconnect delays of every sink (see the module docstring)."""
    if not input_slew_s >= 0 or not output_load_f >= 0:
        raise NetlistError(f"input slew and output load must be >= 0, got {input_slew_s!r} s and {output_load_f!r} F")
    library = netlist.library
    nets = len(netlist.nets)
    cells = [library.cells[inst.cell] for inst in netlist.instances]
    port_bits = np.zeros(nets, dtype=np.int64)
    for port in netlist.outputs:
        for net in port.nets:
            port_bits[net] += 1
    fanout = sink_counts(netlist)
    wire = library.wire_load
    wire_cap = np.array([wire.capacitance(int(f)) if wire else 0.0 for f in fanout])
    wire_res = np.array([wire.resistance(int(f)) if wire else 0.0 for f in fanout])
    share_res = np.divide(wire_res, fanout, out=np.zeros(nets), where=fanout > 0)
    share_cap = np.divide(wire_cap, fanout, out=np.zeros(nets), where=fanout > 0)

    load = np.zeros((nets, 2))
    for net, sinks in enumerate(netlist.fanout):
        for index, pin in sinks:
            cell, name = cells[index], cells[index].inputs[pin]
            load[net] += (cell.pin_capacitance(name, True), cell.pin_capacitance(name, False))
    load += (wire_cap + output_load_f * port_bits)[:, None]
    load[[CONST0, CONST1]] = 0.0

    slews = np.zeros((nets, 2))
    for port in netlist.inputs:
        slews[list(port.nets)] = input_slew_s
    sink_delay, sink_slew = {}, {}
    arcs = []
    for index in netlist.order:
        inst, cell = netlist.instances[index], cells[index]
        if not cell.combinational:
            raise NetlistError(f"instance {inst.name}: cell {cell.name} is not combinational and cannot be timed")
        pin_slew = {}
        for pin, net in enumerate(inst.inputs):
            name = cell.inputs[pin]
            delay = tuple(share_res[net] * (share_cap[net] + cell.pin_capacitance(name, e == RISE)) for e in (0, 1))
            sink_delay[(index, pin)] = delay if net not in (CONST0, CONST1) else (0.0, 0.0)
            sink_slew[(index, pin)] = tuple(float(s) for s in slews[net])
            pin_slew[name] = slews[net]
        for out_pin, net in zip(cell.outputs, inst.outputs):
            if net == UNCONNECTED or not inst.inputs:
                continue
            for arc in _checked_arcs(cell, out_pin):
                for from_edge, to_edge in edge_pairs(arc.timing_sense):
                    delay_table = arc.cell_rise if to_edge == RISE else arc.cell_fall
                    slew_table = arc.rise_transition if to_edge == RISE else arc.fall_transition
                    if delay_table is None:
                        continue
                    in_slew = float(pin_slew[arc.related_pin][from_edge])
                    out_slew = slew_table.lookup(in_slew, load[net, to_edge]) if slew_table is not None else 0.0
                    arcs.append(
                        ArcDelay(index, arc.related_pin, out_pin, from_edge, to_edge,
                                 delay_table.lookup(in_slew, load[net, to_edge]), out_slew)
                    )
                    slews[net, to_edge] = max(slews[net, to_edge], out_slew)
    port_delay = {int(n): (float(share_res[n] * share_cap[n]),) * 2 for p in netlist.outputs for n in p.nets}
    return DelayCalculation(
        netlist=netlist,
        input_slew_s=float(input_slew_s),
        output_load_f=float(output_load_f),
        load_f=load,
        net_slews_s=slews,
        arcs=tuple(arcs),
        sink_delay_s=sink_delay,
        port_delay_s=port_delay,
        sink_slew_s=sink_slew,
    )


def _checked_arcs(cell: Cell, pin: str):
    arcs = cell.arcs_to(pin)
    if not any(a.cell_rise is not None for a in arcs) or not any(a.cell_fall is not None for a in arcs):
        raise LibraryError(f"cell {cell.name}: pin {pin} lacks cell_rise or cell_fall timing, so it cannot be timed")
    return arcs

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
that model, shared equally by the sinks (OpenSTA's balanced tree), makes the
load a pi model: the driver sees an effective capacitance and each sink a wire
delay and a degraded slew (`characterize.timing._dmp`, OpenSTA's DMP method);
without resistance the load is the plain capacitance. DESIGN.md gives the
rules; the critical delay equals OpenSTA's to within 0.01 %.

`net_slews_s` is what the energy calculation reads: per net and edge the
transition time at the driver, in seconds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cells.errors import LibraryError
from cells.model import Cell, Library
from characterize.errors import NetlistError
from characterize.netlist.ir import CONST0, CONST1, UNCONNECTED, Netlist
from characterize.timing._dmp import Driver, Thresholds

RISE, FALL = 0, 1


def edge_pairs(timing_sense: str, timing_type: str = "combinational") -> tuple[tuple[int, int], ...]:
    """(input edge, output edge) pairs a timing arc of this sense and type carries: a clock-to-output arc
    (`rising_edge`, `falling_edge`) starts only at its clock edge."""
    if timing_type in ("rising_edge", "falling_edge"):
        edge = RISE if timing_type == "rising_edge" else FALL
        return (edge, RISE), (edge, FALL)
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
    order: np.ndarray

    @cached_property
    def arcs_by_instance(self) -> dict[int, tuple[ArcDelay, ...]]:
        grouped: dict[int, list[ArcDelay]] = defaultdict(list)
        for arc in self.arcs:
            grouped[arc.instance].append(arc)
        return {k: tuple(v) for k, v in grouped.items()}


def sink_counts(netlist: Netlist) -> np.ndarray:
    """Sinks per net: instance input pins plus output-port bits (OpenSTA counts a port as one)."""
    counts = np.array([len(s) for s in netlist.fanout], dtype=np.int64)
    for port in netlist.outputs:
        for net in port.nets:
            counts[net] += 1
    return counts


def timing_order(netlist: Netlist) -> np.ndarray:
    """Instances in an order where every pin's driver comes first, except a register's data pins.

    A register (ff or latch) waits for the drivers of its clock or enable pins only,
    so the clock tree is timed before the registers it clocks and they before the
    logic they drive: the slew at a clock pin is known when its clock-to-output arcs
    are timed. A register whose clock depends on its own output is rejected.
    """
    cells = [netlist.library.cells[inst.cell] for inst in netlist.instances]
    waits_for = []
    for inst, cell in zip(netlist.instances, cells):
        pins = zip(cell.inputs, inst.inputs)
        nets = [net for pin, net in pins if cell.register is None or pin in cell.clock_pins]
        waits_for.append({int(netlist.driver[net]) for net in nets if netlist.driver[net] >= 0})
    pending = np.array([len(w) for w in waits_for], dtype=np.int64)
    sinks: dict[int, list[int]] = defaultdict(list)
    for index, drivers in enumerate(waits_for):
        for driver in drivers:
            sinks[driver].append(index)
    ready = [int(i) for i in netlist.order if pending[i] == 0]
    order = []
    while ready:
        index = ready.pop()
        order.append(index)
        for sink in sinks[index]:
            pending[sink] -= 1
            if pending[sink] == 0:
                ready.append(sink)
    if len(order) != len(netlist.instances):
        stuck = [int(i) for i in np.flatnonzero(pending > 0)]
        inst = netlist.instances[next((i for i in stuck if cells[i].register is not None), stuck[0])]
        where = f"{netlist.source}:{inst.line}: " if netlist.source and inst.line else ""
        raise NetlistError(f"{where}instance {inst.name}: its clock depends on a register it clocks")
    return np.array(order, dtype=np.int64)


def calculate_delays(netlist: Netlist, input_slew_s: float, output_load_f: float,
                     drivers: dict | None = None) -> DelayCalculation:
    """Arc delays and slews of every instance, interconnect delays of every sink (see the module docstring).

    `drivers` keeps the solved driver waveforms, by arc tables, input slew and load, across calls on netlists of
    one library (a resizer timing many variants of one netlist solves each driver once); by default per call.
    """
    if not input_slew_s >= 0 or not output_load_f >= 0:
        raise NetlistError(f"input slew and output load must be >= 0, got {input_slew_s!r} s and {output_load_f!r} F")
    library = netlist.library
    nets = len(netlist.nets)
    cells = [library.cells[inst.cell] for inst in netlist.instances]
    ports = defaultdict(int)
    for port in netlist.outputs:
        for net in port.nets:
            ports[net] += 1
    fanout = sink_counts(netlist)
    wire = library.wire_load
    wire_cap = np.array([wire.capacitance(int(f)) if wire else 0.0 for f in fanout])
    wire_res = np.array([wire.resistance(int(f)) if wire else 0.0 for f in fanout])
    share_res = np.divide(wire_res, fanout, out=np.zeros(nets), where=fanout > 0)
    share_cap = np.divide(wire_cap, fanout, out=np.zeros(nets), where=fanout > 0)
    # Python floats from here on: the same doubles, and the driver waveforms' arithmetic several times faster
    share_res, share_cap = share_res.tolist(), share_cap.tolist()

    # per net and edge: the sinks' capacitances, total load, Elmore delay per sink and the pi model
    sink_cap = {(index, pin): (cells[index].pin_capacitance(cells[index].inputs[pin], True),
                               cells[index].pin_capacitance(cells[index].inputs[pin], False))
                for index, inst in enumerate(netlist.instances) for pin in range(len(inst.inputs))}
    load = np.zeros((nets, 2))
    pi_model = [[(0.0, 0.0, 0.0)] * 2 for _ in range(nets)]
    for net, sinks in enumerate(netlist.fanout):
        if net in (CONST0, CONST1):
            continue
        for edge in (RISE, FALL):
            caps = [sink_cap[sink][edge] + share_cap[net] for sink in sinks]
            caps += [output_load_f + share_cap[net]] * ports.get(net, 0)
            load[net, edge] = sum(caps)
            pi_model[net][edge] = _pi_model(caps, share_res[net])
    elmore = {sink: tuple(share_res[net] * (share_cap[net] + sink_cap[sink][e]) for e in (RISE, FALL))
              for net, sinks in enumerate(netlist.fanout) for sink in sinks}
    port_elmore = {int(net): float(share_res[net] * share_cap[net]) for net in ports}

    slews = np.zeros((nets, 2))
    sink_delay = {sink: (0.0, 0.0) for sink in sink_cap}
    sink_slew = {sink: (0.0, 0.0) for sink in sink_cap}
    port_delay = {net: (0.0, 0.0) for net in port_elmore}
    for port in netlist.inputs:
        for net in port.nets:
            slews[net] = input_slew_s
            for sink in netlist.fanout[net]:
                sink_delay[sink], sink_slew[sink] = elmore[sink], (input_slew_s, input_slew_s)
            if net in port_elmore:
                port_delay[net] = (port_elmore[net],) * 2
    thresholds = library_thresholds(library)
    arcs = []
    drivers = {} if drivers is None else drivers
    order = timing_order(netlist)
    for index in order:
        inst, cell = netlist.instances[index], cells[index]
        if not cell.combinational and cell.register is None:
            raise NetlistError(not_timed(netlist, index))
        pin_slew = {cell.inputs[pin]: sink_slew[(index, pin)] for pin in range(len(inst.inputs))}
        for out_pin, net in zip(cell.outputs, inst.outputs):
            if net == UNCONNECTED or not inst.inputs:
                continue
            for arc in _checked_arcs(cell, out_pin):
                for from_edge, to_edge in edge_pairs(arc.timing_sense, arc.timing_type):
                    delay_table = arc.cell_rise if to_edge == RISE else arc.cell_fall
                    slew_table = arc.rise_transition if to_edge == RISE else arc.fall_transition
                    if delay_table is None:
                        continue
                    in_slew = float(pin_slew[arc.related_pin][from_edge])

                    def table(cap, delay_table=delay_table, slew_table=slew_table, in_slew=in_slew):
                        slew = slew_table.lookup(in_slew, cap) if slew_table is not None else 0.0
                        return delay_table.lookup(in_slew, cap), slew

                    key = (id(delay_table), id(slew_table), in_slew, *pi_model[net][to_edge])
                    driver = drivers.get(key)
                    if driver is None:  # equal arcs in equal surroundings (adder chains) are solved once
                        driver = drivers[key] = Driver(table, *pi_model[net][to_edge], thresholds)
                    arcs.append(ArcDelay(index, arc.related_pin, out_pin, from_edge, to_edge, driver.delay_s,
                                         driver.slew_s))
                    slews[net, to_edge] = max(slews[net, to_edge], driver.slew_s)
                    for sink in netlist.fanout[net]:
                        delay, slew = driver.wire(elmore[sink][to_edge])
                        sink_delay[sink] = _raised(sink_delay[sink], to_edge, delay)
                        sink_slew[sink] = _raised(sink_slew[sink], to_edge, slew)
                    if net in port_elmore:
                        port_delay[net] = _raised(port_delay[net], to_edge, driver.wire(port_elmore[net])[0])
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
        order=order,
    )


def not_timed(netlist: Netlist, index: int) -> str:
    """The one-line reason why instance `index` has no place among combinational gates."""
    inst = netlist.instances[index]
    cell = netlist.library.cells[inst.cell]
    where = f"{netlist.source}:{inst.line}: " if netlist.source and inst.line else ""
    if cell.unsupported:
        return f"{where}instance {inst.name}: cell {cell.name} {cell.unsupported}, so it can be neither simulated nor timed"
    return f"{where}instance {inst.name}: cell {cell.name} is not combinational and cannot be timed"


def library_thresholds(library: Library) -> Thresholds:
    """The library's delay and slew thresholds and slew derate, for the driver waveforms."""
    return Thresholds(*library.slew_thresholds)


def _pi_model(caps: list[float], share_res: float) -> tuple[float, float, float]:
    """(c2, rpi, c1) of a balanced wire tree from its sinks' capacitances (each with its wire share), as OpenSTA
    reduces it by admittance moments; all zero without sinks."""
    if share_res == 0.0:
        return sum(caps), 0.0, 0.0
    y1 = sum(caps)
    y2 = -sum(share_res * c * c for c in caps)
    y3 = sum(share_res * share_res * c * c * c for c in caps)
    if y3 == 0.0:
        return 0.0, 0.0, 0.0
    c1 = y2 * y2 / y3
    return y1 - c1, -y3 * y3 / (y2 * y2 * y2), c1


def _raised(pair: tuple[float, float], edge: int, value: float) -> tuple[float, float]:
    values = list(pair)
    values[edge] = max(values[edge], value)
    return values[0], values[1]


def _checked_arcs(cell: Cell, pin: str):
    arcs = cell.arcs_to(pin) if cell.register is None else cell.delay_arcs_to(pin)
    if not any(a.cell_rise is not None for a in arcs) or not any(a.cell_fall is not None for a in arcs):
        raise LibraryError(f"cell {cell.name}: pin {pin} lacks cell_rise or cell_fall timing, so it cannot be timed")
    return arcs

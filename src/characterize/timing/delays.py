"""Gate and arc delays in integer time steps, as an SDF file would carry them.

The timing simulator and the timed Verilog writer both read a `TimedGates`: the
netlist split into single-output gates (a full adder becomes one gate for SUM and
one for COUT), each with its truth table, its input nets and its delays, rounded
to the nearest step of `resolution_s`. `annotate_arc_delays` gives each gate one
delay per input pin, input edge and output edge from a `DelayCalculation` (NLDM
arcs at propagated slews plus interconnect); `annotate_delays` one rise and one
fall per gate, the largest `cell_rise` (`cell_fall`) over the cell's arcs to that
output pin at one nominal input slew and the load of the net the pin drives.
Every gate with inputs takes at least one step: a zero delay would let a gate
react in the same step as its inputs, which the event semantics of `sim` excludes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from cells.errors import LibraryError
from cells.model import Library
from cells.units import S_PER_PS, SI_PREFIXES
from characterize.errors import NetlistError
from characterize.netlist.ir import UNCONNECTED, Netlist
from characterize.netlist.techmap import CellMatcher
from characterize.timing.delaycalc import DelayCalculation, not_timed

DEFAULT_INPUT_SLEW_S = 40e-12
"""Nominal input transition for every delay lookup: 40 ps, inside sky130 hd's
characterized range (10 ps to 1.5 ns) and near the output transition of a small
gate with a light load (about 50 ps for nand2_1 driving 6 fF)."""

DEFAULT_RESOLUTION_S = S_PER_PS
MAX_GATE_INPUTS = 6  # a truth table of up to 2**6 bits fits one int64
NO_ARC = np.iinfo(np.int64).max // 4  # arc delay of an input pin without a timing arc to the output


def default_external_load(library: Library) -> float:
    """Load (F) on each output-port bit by default: the input capacitance of the library's smallest inverter.

    It models the next stage an output drives, one minimum gate, so output bits are
    not timed unloaded.
    """
    match = CellMatcher(library).role("INV")
    cell = library.cells[match.cell]
    return float(cell.capacitance.get(cell.inputs[0], 0.0))



def fanout_csr(inputs: np.ndarray, nets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of `inputs` (each row's input nets, -1 padded) that read each net, as CSR arrays: start offsets per
    net, row indices (each row once per net), and the columns (input pins) on which the row reads the net, as a
    bit mask."""
    pins: dict[tuple[int, int], int] = {}
    for r, row in enumerate(inputs):
        for j, n in enumerate(row):
            if n >= 0:
                pins[(int(n), r)] = pins.get((int(n), r), 0) | (1 << j)
    pairs = sorted(pins)
    ordered = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    counts = np.bincount(ordered[:, 0], minlength=nets)
    return (np.concatenate(([0], np.cumsum(counts))).astype(np.int64), ordered[:, 1].astype(np.int32),
            np.array([pins[p] for p in pairs], dtype=np.int64))

@dataclass(frozen=True, eq=False)
class TimedGates:
    """A netlist as single-output gates with integer rise and fall delays, gates in topological order.

    `gate_inputs` (gates × inputs, int32) holds the input nets, padded with -1;
    `gate_table` the output's truth table over those inputs (bit i is the output for
    the input combination i, input j being bit j of i); `gate_output` the driven net;
    `gate_instance` the netlist instance the gate comes from. `rise_steps` and
    `fall_steps` are delays in steps of `resolution_s` seconds.

    With `arc_rise_steps` and `arc_fall_steps` (gates × inputs × input edge, rise
    0 and fall 1) the gate has one delay per input pin, input edge and output
    edge (an SDF IOPATH), `NO_ARC` where the pin has no timing arc to the output,
    and the simulator uses the path-delay semantics of DESIGN.md; `rise_steps`
    and `fall_steps` are then the largest arc delays. Without them, one rise and one fall delay per gate with the
    inertial semantics of `assign #(rise, fall)`. `net_slew_s` (2 × nets, rise and
    fall, s), from the delay calculation, is each net's slew for the energy model;
    without it every net has `input_slew_s`.
    """

    netlist: Netlist
    gate_inputs: np.ndarray
    gate_table: np.ndarray
    gate_output: np.ndarray
    gate_instance: np.ndarray
    rise_steps: np.ndarray
    fall_steps: np.ndarray
    resolution_s: float
    input_slew_s: float
    external_load_f: float
    arc_rise_steps: np.ndarray | None = None
    arc_fall_steps: np.ndarray | None = None
    net_slew_s: np.ndarray | None = None

    @property
    def per_arc(self) -> bool:
        return self.arc_rise_steps is not None

    @property
    def gate_count(self) -> int:
        return len(self.gate_output)

    @property
    def energy_slew_s(self) -> float | np.ndarray:
        """The slew the energy model prices each net's toggles at: `net_slew_s`, else `input_slew_s` for all."""
        return self.input_slew_s if self.net_slew_s is None else self.net_slew_s

    @property
    def net_count(self) -> int:
        return len(self.netlist.nets)

    @cached_property
    def input_nets(self) -> np.ndarray:
        """Nets of the input ports, port by port, LSB first."""
        return np.array([n for p in self.netlist.inputs for n in p.nets], dtype=np.int32)

    @cached_property
    def output_nets(self) -> np.ndarray:
        """Distinct nets that carry an output-port bit, in net order."""
        return np.unique(np.array([n for p in self.netlist.outputs for n in p.nets], dtype=np.int32))

    @cached_property
    def fanout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gates reading each net (`fanout_csr` of the gates' inputs)."""
        return fanout_csr(self.gate_inputs, self.net_count)

    @cached_property
    def settle_bound_steps(self) -> int:
        """Longest input-to-net path with each gate's slower delay: no event of a transition comes later."""
        arrival = np.zeros(self.net_count, dtype=np.int64)
        slower = np.maximum(self.rise_steps, self.fall_steps)
        for g in range(self.gate_count):
            row = self.gate_inputs[g]
            start = arrival[row[row >= 0]].max(initial=0)
            arrival[self.gate_output[g]] = start + slower[g] if (row >= 0).any() else 0
        return int(arrival.max(initial=0))


def annotate_delays(
    netlist: Netlist,
    input_slew: float = DEFAULT_INPUT_SLEW_S,
    external_load: float | None = None,
    resolution: float = DEFAULT_RESOLUTION_S,
    skip_registers: bool = False,
) -> TimedGates:
    """Split `netlist` into single-output gates and give each a rise and a fall delay in steps.

    `input_slew` (s) is the slew every lookup uses; `external_load` (F) is added to
    every output-port bit, by default `default_external_load(library)`; `resolution`
    (s) is the length of one time step. With `skip_registers`, flip-flops are left out
    (their outputs then have no gate) for `characterize.timing.clocked` to drive.
    """
    if not input_slew >= 0 or not resolution > 0:
        raise NetlistError(f"input_slew must be >= 0 and resolution > 0, got {input_slew!r} and {resolution!r}")
    library = netlist.library
    if external_load is None:
        external_load = default_external_load(library)
    load = netlist.load_capacitance(external_load)
    inputs, tables, outputs, instances, rises, falls = [], [], [], [], [], []
    for index in netlist.order:
        inst = netlist.instances[index]
        cell = library.cells[inst.cell]
        if skip_registers and cell.register is not None:
            continue
        if not cell.combinational:
            raise NetlistError(not_timed(netlist, index))
        if len(inst.inputs) > MAX_GATE_INPUTS:
            raise NetlistError(f"instance {inst.name}: cell {cell.name} has more than {MAX_GATE_INPUTS} inputs")
        for pin, (net, table) in enumerate(zip(inst.outputs, cell.truth_tables)):
            if net == UNCONNECTED:
                continue
            rise_s, fall_s = _pin_delays(cell, cell.outputs[pin], bool(inst.inputs), input_slew, load[net])
            inputs.append(inst.inputs)
            tables.append(table)
            outputs.append(net)
            instances.append(index)
            rises.append(rise_s)
            falls.append(fall_s)
    width = max((len(i) for i in inputs), default=0)
    gate_inputs = np.full((len(inputs), width), -1, dtype=np.int32)
    for g, row in enumerate(inputs):
        gate_inputs[g, : len(row)] = row
    return TimedGates(
        netlist=netlist,
        gate_inputs=gate_inputs,
        gate_table=np.array([_as_int64(t) for t in tables], dtype=np.int64),
        gate_output=np.array(outputs, dtype=np.int32),
        gate_instance=np.array(instances, dtype=np.int32),
        rise_steps=_steps(rises, resolution),
        fall_steps=_steps(falls, resolution),
        resolution_s=float(resolution),
        input_slew_s=float(input_slew),
        external_load_f=float(external_load),
    )


def annotate_arc_delays(calc: DelayCalculation, resolution: float = DEFAULT_RESOLUTION_S,
                        skip_registers: bool = False) -> TimedGates:
    """Split `calc`'s netlist into single-output gates with one delay per input pin, input edge and output edge.

    The delay is the interconnect delay to the pin for that input edge plus the
    arc delay, the largest over the library arcs with that edge pair; the
    interconnect is folded in, as the simulator has one node per net. An edge
    pair no arc carries (a falling input of a positive-unate pin for a rising
    output) gets the pin's largest delay for that output edge, as an SDF IOPATH
    without edges gives it. Every delay takes at least one step. `skip_registers` as in
    `annotate_delays`.
    """
    if not resolution > 0:
        raise NetlistError(f"resolution must be > 0, got {resolution!r}")
    netlist = calc.netlist
    base = annotate_delays(netlist, calc.input_slew_s, calc.output_load_f, resolution, skip_registers)
    worst: dict[tuple[int, str, str, int, int], float] = {}
    for arc in calc.arcs:
        pin = netlist.library.cells[netlist.instances[arc.instance].cell].inputs.index(arc.from_pin)
        total = calc.sink_delay_s[(arc.instance, pin)][arc.from_edge] + arc.delay_s
        key = (arc.instance, arc.from_pin, arc.to_pin, arc.from_edge, arc.to_edge)
        worst[key] = max(worst.get(key, total), total)
    shape = (*base.gate_inputs.shape, 2)
    delays = (np.full(shape, NO_ARC, dtype=np.int64), np.full(shape, NO_ARC, dtype=np.int64))
    for g in range(base.gate_count):
        instance = int(base.gate_instance[g])
        cell = netlist.library.cells[netlist.instances[instance].cell]
        out_pin = cell.outputs[netlist.instances[instance].outputs.index(int(base.gate_output[g]))]
        for j, pin in enumerate(cell.inputs):
            for to_edge, steps in enumerate(delays):
                by_edge = [worst.get((instance, pin, out_pin, from_edge, to_edge)) for from_edge in (0, 1)]
                known = [d for d in by_edge if d is not None]
                if not known:
                    continue
                for from_edge, delay in enumerate(by_edge):
                    value = max(known) if delay is None else delay
                    steps[g, j, from_edge] = max(int(np.rint(value / resolution)), 1)
            if _depends_on(int(base.gate_table[g]), len(cell.inputs), j) and (
                delays[0][g, j, 0] == NO_ARC or delays[1][g, j, 0] == NO_ARC
            ):
                raise LibraryError(f"cell {cell.name}: no rise or fall timing arc from {pin} to {out_pin}")
    rise = np.where(delays[0] < NO_ARC, delays[0], 1).max(axis=(1, 2), initial=1)
    fall = np.where(delays[1] < NO_ARC, delays[1], 1).max(axis=(1, 2), initial=1)
    return replace(base, rise_steps=rise, fall_steps=fall, arc_rise_steps=delays[0], arc_fall_steps=delays[1],
                   net_slew_s=np.ascontiguousarray(calc.net_slews_s.T))


def timescale_unit(resolution_s: float) -> str:
    """The Verilog/VCD time unit for a resolution: 1, 10 or 100 of fs, ps, ns, us, ms or s."""
    for prefix, scale in SI_PREFIXES.items():
        for factor in (1, 10, 100):
            if scale <= 1.0 and np.isclose(resolution_s, factor * scale, rtol=1e-9, atol=0.0):
                return f"{factor}{prefix}s"
    raise NetlistError(
        f"resolution {resolution_s!r} s is not 1, 10 or 100 of a time unit, so no timescale can carry it"
    )


def _pin_delays(cell, pin: str, has_inputs: bool, slew: float, load: float) -> tuple[float, float]:
    """Largest cell_rise and cell_fall (s) over the arcs to `pin`; a constant output (no inputs) has none."""
    arcs = cell.arcs_to(pin)
    rise = [a.cell_rise.lookup(slew, load) for a in arcs if a.cell_rise is not None]
    fall = [a.cell_fall.lookup(slew, load) for a in arcs if a.cell_fall is not None]
    if not has_inputs:
        return 0.0, 0.0
    if not rise or not fall:
        raise LibraryError(f"cell {cell.name}: pin {pin} lacks cell_rise or cell_fall timing, so it cannot be timed")
    return max(rise), max(fall)


def _depends_on(table: int, inputs: int, j: int) -> bool:
    """Whether a truth table over `inputs` inputs changes with input j somewhere."""
    return any((table >> i) & 1 != (table >> (i ^ (1 << j))) & 1 for i in range(1 << inputs))


def _steps(delays_s: list[float], resolution: float) -> np.ndarray:
    steps = np.rint(np.asarray(delays_s, dtype=float) / resolution).astype(np.int64)
    return np.maximum(steps, 1)


def _as_int64(table: int) -> int:
    """A truth table of up to 64 bits as a signed int64 with the same bits."""
    return table - (1 << 64) if table >= 1 << 63 else table

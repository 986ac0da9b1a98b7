"""Clocked timing simulation of netlists with flip-flops and latches (Liberty `ff` and `latch` groups).

Stimulus: row i of the vectors (every input but the clock) is applied at time i·P,
the clock is 0 at time 0, rises at i·P + P/2 (P/2 rounded down to a step) and falls
at (i+1)·P. The combinational gates keep the timing semantics of `sim`: by default
per-arc delays from the delay calculation (`delaycalc`, NLDM arcs at propagated slews
plus interconnect, as `sequential_sta` times them) with the path-delay semantics, or
one rise and fall per gate at the nominal input slew with the inertial one
(`per_arc=False`). Each flip-flop is a state net, set at its active clock edge to the
next-state function of its inputs (asynchronous clear and preset act at once),
followed by one output gate per output pin whose rise and fall delays are the
largest of the Liberty `rising_edge`/`falling_edge` arcs to the pin (with arc delays:
at the clock pin's propagated slew, the interconnect to the clock pin included, as
`sequential_sta` launches a register; with gate delays: at the nominal slew). A
latch's state follows its data function while its enable function is 1 and holds
otherwise; its output gate takes the larger of the enable-to-output and
data-to-output delays. Row 0 settles without timing before the first edge (all states
0, latches that are transparent then taking their data);
toggles are counted from time P, energy per clock cycle includes the clock pins'
internal energy of every register; with arc delays each net's transitions are priced
at its slew from the delay calculation, as `power` prices a per-arc run. The event loop is `_clocked_kernel.run_clocked`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cells.functions import truth_table
from characterize.errors import NetlistError, SimulationError
from characterize.netlist.ir import CONST1, UNCONNECTED, Netlist
from characterize.netlist.logic import port_bits
from characterize.timing._clocked_kernel import run_clocked
from characterize.timing.delaycalc import FALL, RISE, DelayCalculation, calculate_delays, not_timed
from characterize.timing.delays import (
    DEFAULT_INPUT_SLEW_S,
    DEFAULT_RESOLUTION_S,
    NO_ARC,
    TimedGates,
    annotate_arc_delays,
    annotate_delays,
    default_external_load,
    fanout_csr,
)
from characterize.timing.power import Activity, energy_model

MAX_REGISTER_INPUTS = 6


@dataclass(frozen=True, eq=False)
class ClockedGates:
    """A netlist's combinational gates (`timed`) plus its registers and their output gates.

    Register r has the state net `state_nets[r]` (numbered after the netlist's nets),
    its input nets `reg_inputs[r]` (cell input pin order, padded with -1) and the truth
    tables of its clock (enable of a latch, `reg_latch`), next-state (over the inputs and,
    as bit `reg_inputs.shape[1]`, the state), clear and preset functions. The output gates (inputs, table,
    output net, rise, fall in steps) drive the register outputs from the state nets; with arc delays
    (`timed.per_arc`) their rise and fall apply to either edge of the state, and `calculation` is the delay
    calculation they come from.
    """

    timed: TimedGates
    clock_port: str
    clock_net: int
    state_nets: np.ndarray
    reg_instance: np.ndarray
    reg_inputs: np.ndarray
    reg_clock_table: np.ndarray
    reg_data_table: np.ndarray
    reg_clear_table: np.ndarray
    reg_preset_table: np.ndarray
    reg_clock_pins: np.ndarray
    reg_latch: np.ndarray
    output_inputs: np.ndarray
    output_table: np.ndarray
    output_net: np.ndarray
    output_rise: np.ndarray
    output_fall: np.ndarray
    calculation: DelayCalculation | None = None

    @property
    def netlist(self) -> Netlist:
        return self.timed.netlist

    @property
    def net_count(self) -> int:
        """Netlist nets plus one state net per register."""
        return self.timed.net_count + len(self.state_nets)

    @cached_property
    def data_nets(self) -> np.ndarray:
        """Input-port nets other than the clock, port by port, LSB first."""
        return np.array([n for p in self.netlist.inputs if p.name != self.clock_port for n in p.nets], dtype=np.int32)

    @cached_property
    def arc_delays(self) -> tuple[np.ndarray, np.ndarray]:
        """Arc rise and fall delays (steps) of all gates as in `gates` (gates × pins × input edge); empty
        without arc delays."""
        timed = self.timed
        if not timed.per_arc:
            return np.zeros((0, 0, 2), dtype=np.int64), np.zeros((0, 0, 2), dtype=np.int64)
        width = max(timed.gate_inputs.shape[1], 1)
        arcs = []
        for own, gates in ((self.output_rise, timed.arc_rise_steps), (self.output_fall, timed.arc_fall_steps)):
            delays = np.full((len(self.output_net) + timed.gate_count, width, 2), NO_ARC, dtype=np.int64)
            delays[: len(self.output_net), 0, :] = own[:, None]
            delays[len(self.output_net) :, : gates.shape[1]] = gates
            arcs.append(delays)
        return arcs[0], arcs[1]

    @cached_property
    def gates(self) -> tuple[np.ndarray, ...]:
        """All gates, register output gates first: inputs, table, output, rise, fall."""
        timed = self.timed
        width = max(timed.gate_inputs.shape[1], 1)
        inputs = np.full((len(self.output_net) + timed.gate_count, width), -1, dtype=np.int32)
        inputs[: len(self.output_net), :1] = self.output_inputs
        inputs[len(self.output_net) :, : timed.gate_inputs.shape[1]] = timed.gate_inputs
        return (
            inputs,
            np.concatenate([self.output_table, timed.gate_table]),
            np.concatenate([self.output_net, timed.gate_output]).astype(np.int32),
            np.concatenate([self.output_rise, timed.rise_steps]),
            np.concatenate([self.output_fall, timed.fall_steps]),
        )


def annotate_registers(
    netlist: Netlist,
    clock_port: str,
    input_slew: float = DEFAULT_INPUT_SLEW_S,
    external_load: float | None = None,
    resolution: float = DEFAULT_RESOLUTION_S,
    per_arc: bool = True,
) -> ClockedGates:
    """Time the combinational gates and the registers' clock-to-output arcs of `netlist`: with `per_arc`
    from the delay calculation at propagated slews, else at the nominal `input_slew` (see the module docstring)."""
    library = netlist.library
    if external_load is None:
        external_load = default_external_load(library)
    if per_arc:
        calc = calculate_delays(netlist, input_slew, external_load)
        timed = annotate_arc_delays(calc, resolution, skip_registers=True)
    else:
        calc = None
        timed = annotate_delays(netlist, input_slew, external_load, resolution, skip_registers=True)
    clock = netlist.port(clock_port)
    if clock.direction != "input" or clock.width != 1:
        raise NetlistError(f"{netlist.source or netlist.name}: clock {clock_port} must be a 1-bit input port")
    load = netlist.load_capacitance(external_load)
    registers = [i for i, inst in enumerate(netlist.instances) if library.cells[inst.cell].sequential]
    width = max((len(netlist.instances[i].inputs) for i in registers), default=1)
    reg_inputs = np.full((len(registers), width), -1, dtype=np.int32)
    tables = np.zeros((4, len(registers)), dtype=np.int64)
    clock_pins = np.zeros(len(registers), dtype=np.int64)
    outputs: list[tuple[int, int, int, float, float]] = []
    base = len(netlist.nets)
    for r, index in enumerate(registers):
        inst = netlist.instances[index]
        cell = library.cells[inst.cell]
        where = f"{netlist.source}:{inst.line}: " if netlist.source and inst.line else ""
        register = cell.register
        if register is None:
            raise NetlistError(not_timed(netlist, index))
        if len(inst.inputs) > MAX_REGISTER_INPUTS:
            raise NetlistError(f"{where}instance {inst.name}: cell {cell.name} has more than {MAX_REGISTER_INPUTS} inputs")
        reg_inputs[r, : len(inst.inputs)] = inst.inputs
        state, inverse = register.state
        tables[0, r] = truth_table(register.clock, cell.inputs)
        tables[1, r] = _with_state(truth_table(register.data, cell.inputs + (state, inverse)), len(cell.inputs), width)
        tables[2, r] = truth_table(register.clear, cell.inputs) if register.clear else 0
        tables[3, r] = truth_table(register.preset, cell.inputs) if register.preset else 0
        clock_pins[r] = sum(1 << j for j, pin in enumerate(cell.inputs) if pin in cell.clock_pins)
        for pin, net in zip(cell.outputs, inst.outputs):
            if net == UNCONNECTED:
                continue
            table = truth_table(cell.functions[pin], (state, inverse))
            table = ((table >> 0b10) & 1) | (((table >> 0b01) & 1) << 1)  # f(q, !q) for q = 0, 1
            if calc is None:
                rise, fall = _clock_to_output(cell, pin, input_slew, load[net], where + f"instance {inst.name}")
            else:
                rise, fall = _launch_delays(calc, index, pin, where + f"instance {inst.name}")
            outputs.append((base + r, table, net, rise, fall))
    steps = [np.maximum(np.rint(np.array([o[k] for o in outputs], dtype=float) / resolution).astype(np.int64), 1)
             for k in (3, 4)]
    clocked = ClockedGates(
        timed=timed,
        clock_port=clock_port,
        clock_net=clock.nets[0],
        state_nets=np.arange(base, base + len(registers), dtype=np.int32),
        reg_instance=np.array(registers, dtype=np.int32),
        reg_inputs=reg_inputs,
        reg_clock_table=tables[0],
        reg_data_table=tables[1],
        reg_clear_table=tables[2],
        reg_preset_table=tables[3],
        reg_clock_pins=clock_pins,
        reg_latch=np.array([library.cells[netlist.instances[i].cell].register.kind == "latch" for i in registers],
                           dtype=np.uint8),
        output_inputs=np.array([[o[0]] for o in outputs], dtype=np.int32).reshape(-1, 1),
        output_table=np.array([o[1] for o in outputs], dtype=np.int64),
        output_net=np.array([o[2] for o in outputs], dtype=np.int32),
        output_rise=steps[0],
        output_fall=steps[1],
        calculation=calc,
    )
    _check_clock(clocked)
    return clocked


def _with_state(table: int, k: int, width: int) -> int:
    """A table over k inputs, the state and its complement as one over `width` inputs and the state (bit `width`)."""
    result = 0
    for index in range(1 << k):
        for q in (0, 1):
            if (table >> (index | (q << k) | ((1 - q) << (k + 1)))) & 1:
                result |= 1 << (index | (q << width))
    return result


def _clock_to_output(cell, pin: str, slew: float, load: float, where: str) -> tuple[float, float]:
    """Largest rise and fall delay (s) of the clock-to-output arcs of `pin`, and of a latch's data-to-output arcs."""
    kinds = ("rising_edge", "falling_edge") + (("combinational",) if cell.register.kind == "latch" else ())
    arcs = [a for a in cell.timing if a.pin == pin and a.timing_type in kinds]
    rise = [a.cell_rise.lookup(slew, load) for a in arcs if a.cell_rise is not None]
    fall = [a.cell_fall.lookup(slew, load) for a in arcs if a.cell_fall is not None]
    if not rise or not fall:
        raise NetlistError(f"{where}: cell {cell.name} pin {pin} has no clock-to-output timing arc")
    return max(rise), max(fall)


def _launch_delays(calc: DelayCalculation, index: int, pin: str, where: str) -> tuple[float, float]:
    """Largest rise and fall delay (s) from a register's clock pins (and a latch's data pins) to output `pin`,
    the interconnect to the input pin included, from the delay calculation."""
    cell = calc.netlist.library.cells[calc.netlist.instances[index].cell]
    sources = set(cell.clock_pins) | (set(cell.data_pins) if cell.register.kind == "latch" else set())
    delays: tuple[list[float], list[float]] = ([], [])
    for arc in calc.arcs_by_instance.get(index, ()):
        if arc.to_pin == pin and arc.from_pin in sources:
            wire = calc.sink_delay_s[(index, cell.inputs.index(arc.from_pin))][arc.from_edge]
            delays[arc.to_edge].append(wire + arc.delay_s)
    if not delays[RISE] or not delays[FALL]:
        raise NetlistError(f"{where}: cell {cell.name} pin {pin} has no clock-to-output timing arc")
    return max(delays[RISE]), max(delays[FALL])


def clock_network(clocked: ClockedGates) -> np.ndarray:
    """Per netlist net, whether the clock reaches it through combinational gates (the clock tree)."""
    timed = clocked.timed
    reached = np.zeros(timed.net_count, dtype=bool)
    reached[clocked.clock_net] = True
    for g in range(timed.gate_count):
        row = timed.gate_inputs[g]
        if reached[row[row >= 0]].any():
            reached[timed.gate_output[g]] = True
    return reached


def energy_by_part(clocked: ClockedGates, net_energy_j: np.ndarray) -> dict[str, float]:
    """Switching energy (J) of the clock network, of the register outputs and of the other logic.

    A net's energy holds its own charge and the internal energy of its driver's output
    and its sinks' input pins, so the clock network's share includes every register's
    clock-pin internal energy.
    """
    clock = clock_network(clocked)
    register = np.zeros(len(clock), dtype=bool)
    register[clocked.output_net] = True
    register &= ~clock
    logic = ~(clock | register)
    return {"clock": float(net_energy_j[clock].sum()), "registers": float(net_energy_j[register].sum()),
            "logic": float(net_energy_j[logic].sum())}


def _check_clock(clocked: ClockedGates) -> None:
    """The clock must reach register clock pins only: a clock that drives a data pin is rejected."""
    netlist = clocked.netlist
    reached = clock_network(clocked)
    for r, index in enumerate(clocked.reg_instance):
        inst = netlist.instances[index]
        for j, net in enumerate(inst.inputs):
            if reached[net] and not (clocked.reg_clock_pins[r] >> j) & 1:
                pin = netlist.library.cells[inst.cell].inputs[j]
                where = f"{netlist.source}:{inst.line}: " if netlist.source and inst.line else ""
                raise NetlistError(f"{where}instance {inst.name}: clock {clocked.clock_port} drives data pin {pin}")


@dataclass(frozen=True, eq=False)
class ClockedResult:
    """Activity of a clocked run: toggles, settled changes (value at one cycle start against the next)
    and switching energy (J) per netlist net from time P on; from the second cycle on, energy per
    cycle (J, leakage included) and the time (steps after the cycle's start) of the last change of
    an output-port bit, -1 in a cycle without one; gate events and races."""

    toggles: np.ndarray
    settled_changes: np.ndarray
    energy_per_cycle_j: np.ndarray
    net_energy_j: np.ndarray
    events: int
    races: int
    period_steps: int
    last_output_event_steps: np.ndarray

    @property
    def glitches(self) -> np.ndarray:
        return self.toggles - self.settled_changes


def clocked_inputs(clocked: ClockedGates, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """Bits per row (rows × `data_nets`) of every input port but the clock."""
    ports = [p for p in clocked.netlist.inputs if p.name != clocked.clock_port]
    names = {p.name for p in ports}
    missing, unknown = names - set(inputs), set(inputs) - names
    if missing or unknown:
        raise SimulationError(
            f"inputs must name the input ports but the clock {sorted(names)}: missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    lengths = {len(np.asarray(v)) for v in inputs.values()}
    if len(lengths) != 1 or min(lengths) < 2:
        raise SimulationError("inputs must be 1-D arrays of one length, at least 2 rows (clock cycles)")
    if not ports:
        return np.zeros((next(iter(lengths), 2), 0), dtype=np.uint8)
    return np.ascontiguousarray(np.concatenate([port_bits(p, np.asarray(inputs[p.name])).T for p in ports], axis=1))


def simulate_clocked(clocked: ClockedGates, inputs: Mapping[str, np.ndarray], period_steps: int) -> ClockedResult:
    """Simulate one clock cycle per row of `inputs` (every input port but the clock) at a period of `period_steps`.

    Energy follows `power.energy_model` on the run's own activity: a first pass counts the
    toggles and how often each net is 1 at the cycle boundaries (cell input states are
    taken as independent pins, as OpenSTA does; the clock network as 1 half the time), a
    second pass prices every toggle.
    """
    rows = clocked_inputs(clocked, inputs)
    if period_steps < 2:
        raise SimulationError(f"the clock period must be at least 2 steps, got {period_steps}")
    netlist = clocked.netlist
    zero = np.zeros(clocked.net_count)
    toggles, _cycle, _net, _settled_changes, ones, _events, _races, _last = _run(clocked, rows, period_steps, zero, zero)
    boundaries = max(len(rows) - 1, 1)
    share_one = ones[: len(netlist.nets)] / boundaries
    share_one[clock_network(clocked)] = 0.5
    activity = Activity(toggles[: len(netlist.nets)].astype(np.float64), boundaries, _independent_states(netlist, share_one))
    timed = clocked.timed
    model = energy_model(netlist, activity, timed.energy_slew_s, timed.external_load_f)
    weights = np.zeros(clocked.net_count)
    weights[: len(netlist.nets)] = model.toggle_energy_j
    toggles, per_cycle, net_energy, settled, _ones, events, races, last = _run(clocked, rows, period_steps, weights, weights)
    leakage = model.leakage_power_w * period_steps * clocked.timed.resolution_s
    nets = len(netlist.nets)
    return ClockedResult(toggles[:nets], settled[:nets], per_cycle[1:] + leakage, net_energy[:nets], int(events),
                         int(races), int(period_steps), last[1:])


def _run(clocked: ClockedGates, rows: np.ndarray, period_steps: int, rise_weight: np.ndarray, fall_weight: np.ndarray):
    gate_inputs, gate_table, gate_output, rise, fall = clocked.gates
    values = _settled(clocked, rows[0], gate_inputs, gate_table, gate_output)
    fanout = fanout_csr(gate_inputs, clocked.net_count)
    reg_fanout = fanout_csr(clocked.reg_inputs, clocked.net_count)[:2]  # registers are evaluated whole: no pin masks
    largest = int(max(rise.max(initial=1), fall.max(initial=1)))
    is_output = np.zeros(clocked.net_count, dtype=np.uint8)
    is_output[[n for p in clocked.netlist.outputs for n in p.nets]] = 1
    return run_clocked(
        gate_inputs, gate_table, gate_output, rise, fall, *clocked.arc_delays, clocked.timed.per_arc, *fanout,
        clocked.reg_inputs, clocked.reg_clock_table, clocked.reg_data_table, clocked.reg_clear_table,
        clocked.reg_preset_table, clocked.state_nets, clocked.reg_clock_pins, clocked.reg_latch, *reg_fanout,
        values, clocked.data_nets, rows, clocked.clock_net, int(period_steps), int(period_steps) // 2,
        int(period_steps), 1 << (largest + 1).bit_length(), rise_weight, fall_weight, is_output,
    )


def _independent_states(netlist: Netlist, share_one: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per instance, the share of each input state when its input pins are independent with the given shares of 1."""
    shares = []
    for inst in netlist.instances:
        k = len(inst.inputs)
        states = np.arange(1 << k)
        share = np.ones(1 << k)
        for j, net in enumerate(inst.inputs):
            p = share_one[net]
            share *= np.where((states >> j) & 1, p, 1 - p)
        shares.append(share)
    return tuple(shares)


def _settled(clocked: ClockedGates, row: np.ndarray, gate_inputs, gate_table, gate_output) -> np.ndarray:
    """Net values of row 0 with the clock low, without timing: every flip-flop state 0, a latch transparent
    then holding its data (repeated until nothing changes), the others 0."""
    values = np.zeros(clocked.net_count, dtype=np.uint8)
    values[CONST1] = 1
    values[clocked.data_nets] = row
    width = clocked.reg_inputs.shape[1]
    for _round in range(len(clocked.state_nets) + 1):
        for g in range(len(gate_output)):
            index = sum(int(values[n]) << j for j, n in enumerate(gate_inputs[g]) if n >= 0)
            values[gate_output[g]] = (int(gate_table[g]) >> index) & 1
        before = values[clocked.state_nets].copy()
        for r in np.flatnonzero(clocked.reg_latch):
            index = sum(int(values[n]) << j for j, n in enumerate(clocked.reg_inputs[r]) if n >= 0)
            state = clocked.state_nets[r]
            if (int(clocked.reg_clear_table[r]) >> index) & 1:
                values[state] = 0
            elif (int(clocked.reg_preset_table[r]) >> index) & 1:
                values[state] = 1
            elif (int(clocked.reg_clock_table[r]) >> index) & 1:
                values[state] = (int(clocked.reg_data_table[r]) >> (index | (int(values[state]) << width))) & 1
        if (values[clocked.state_nets] == before).all():
            return values
    raise SimulationError("transparent latches do not settle on the first row of the inputs (an oscillating loop)")

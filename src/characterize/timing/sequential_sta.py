"""Static timing of clocked netlists: register-to-register, input-to-register and register-to-output paths.

The clock rises at the clock port at time 0 and reaches each register's clock pin
through the clock tree (a propagated clock); a register launches at that arrival
plus its clock-to-output delay. Input ports launch at 0 and output ports are
required at the next edge (input and output delays of 0, as OpenSTA's
`set_input_delay 0`/`set_output_delay 0`). A register's data pin is required one
period after its own clock arrival, less the setup time of the Liberty
`setup_rising`/`setup_falling` table (looked up at the nominal slew on both axes, rise
constraint for a rising data edge); the hold check compares the earliest arrival with
the clock arrival plus the hold time. Gate delays are those of the simulator
(`TimedGates`), so the minimum period bounds what the clocked simulation produces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from characterize.timing.clocked import ClockedGates, clock_network
from characterize.timing.sta import FALL, RISE, unateness

NEVER = np.iinfo(np.int64).min // 4


@dataclass(frozen=True)
class Endpoint:
    """One timing check: where it ends, what launched the worst path, the period it needs, and the path."""

    kind: str
    endpoint: str
    required_period_steps: int
    path: tuple[str, ...]


@dataclass(frozen=True)
class SequentialTiming:
    """The minimum clock period (the worst setup or output check), the worst hold slack, and the critical path."""

    min_period_steps: int
    hold_slack_steps: int | None
    critical: Endpoint | None
    resolution_s: float

    @property
    def min_period_ps(self) -> float:
        return self.min_period_steps * self.resolution_s * 1e12

    @property
    def hold_slack_ps(self) -> float | None:
        return None if self.hold_slack_steps is None else self.hold_slack_steps * self.resolution_s * 1e12

    def setup_slack_ps(self, period_ps: float) -> float:
        return period_ps - self.min_period_ps


def sequential_timing(clocked: ClockedGates) -> SequentialTiming:
    """Minimum period, worst hold slack and critical path of a clocked netlist."""
    netlist, timed = clocked.netlist, clocked.timed
    step = timed.resolution_s
    clock_arrival = _clock_arrivals(clocked)
    nets = timed.net_count
    late = np.full((nets, 2), NEVER, dtype=np.int64)
    early = np.full((nets, 2), -NEVER, dtype=np.int64)
    source = np.full((nets, 2, 2), -1, dtype=np.int64)
    launch_kind = np.full((nets, 2), "", dtype=object)
    in_clock = clock_network(clocked)
    data_inputs = [n for n in clocked.data_nets]
    late[data_inputs] = 0
    early[data_inputs] = 0
    launch_kind[data_inputs] = "input"
    for g in range(len(clocked.output_net)):
        r = int(clocked.output_inputs[g, 0]) - len(netlist.nets)
        net = int(clocked.output_net[g])
        delays = (int(clocked.output_rise[g]), int(clocked.output_fall[g]))
        for edge in (RISE, FALL):
            late[net, edge] = clock_arrival[r] + delays[edge]
            early[net, edge] = clock_arrival[r] + delays[edge]
            launch_kind[net, edge] = "register"
    delays = np.stack([timed.rise_steps, timed.fall_steps], axis=1)
    for g in range(timed.gate_count):
        out = int(timed.gate_output[g])
        if in_clock[out]:
            continue
        row = [int(n) for n in timed.gate_inputs[g] if n >= 0]
        table = int(timed.gate_table[g]) & ((1 << 64) - 1)
        for j, net in enumerate(row):
            raises, lowers = unateness(table, len(row), j)
            pairs = [(RISE, RISE), (FALL, FALL)] * raises + [(RISE, FALL), (FALL, RISE)] * lowers
            for edge_in, edge_out in pairs:
                if late[net, edge_in] == NEVER:
                    continue
                time = late[net, edge_in] + delays[g, edge_out]
                if time > late[out, edge_out]:
                    late[out, edge_out] = time
                    source[out, edge_out] = (net, edge_in)
                    launch_kind[out, edge_out] = launch_kind[net, edge_in]
                early[out, edge_out] = min(early[out, edge_out], early[net, edge_in] + delays[g, edge_out])
    checks: list[tuple[int, str, int, int]] = []  # (required period, endpoint, net, edge)
    hold_slack = None
    for r, index in enumerate(clocked.reg_instance):
        inst = netlist.instances[index]
        cell = netlist.library.cells[inst.cell]
        for j, (pin, net) in enumerate(zip(cell.inputs, inst.inputs)):
            setup = [a for a in cell.timing if a.pin == pin and a.timing_type.startswith("setup")]
            hold = [a for a in cell.timing if a.pin == pin and a.timing_type.startswith("hold")]
            for edge in (RISE, FALL):
                if late[net, edge] == NEVER:
                    continue
                if setup:
                    margin = _constraint(setup, edge, timed.input_slew_s, step)
                    checks.append((int(late[net, edge]) + margin - int(clock_arrival[r]), f"{inst.name}/{pin}", net, edge))
                if hold:
                    slack = int(early[net, edge]) - int(clock_arrival[r]) - _constraint(hold, edge, timed.input_slew_s, step)
                    hold_slack = slack if hold_slack is None else min(hold_slack, slack)
    for port in netlist.outputs:
        for net in port.nets:
            for edge in (RISE, FALL):
                if late[net, edge] != NEVER:
                    checks.append((int(late[net, edge]), netlist.nets[net], net, edge))
    if not checks:
        return SequentialTiming(0, hold_slack, None, step)
    period, name, net, edge = max(checks, key=lambda c: c[0])
    kind = f"{launch_kind[net, edge]}-to-{'output' if '/' not in name else 'register'}"
    return SequentialTiming(period, hold_slack, Endpoint(kind, name, period, _trace(netlist, source, net, edge)), step)


def _clock_arrivals(clocked: ClockedGates) -> np.ndarray:
    """Arrival (steps) of the active clock edge at each register's clock pin, the port rising at 0."""
    timed = clocked.timed
    arrival = np.full((timed.net_count, 2), NEVER, dtype=np.int64)
    arrival[clocked.clock_net, RISE] = 0
    for g in range(timed.gate_count):
        row = [int(n) for n in timed.gate_inputs[g] if n >= 0]
        out = int(timed.gate_output[g])
        table = int(timed.gate_table[g]) & ((1 << 64) - 1)
        delays = (int(timed.rise_steps[g]), int(timed.fall_steps[g]))
        for j, net in enumerate(row):
            raises, lowers = unateness(table, len(row), j)
            for edge_in, edge_out, ok in ((RISE, RISE, raises), (FALL, FALL, raises), (RISE, FALL, lowers),
                                          (FALL, RISE, lowers)):
                if ok and arrival[net, edge_in] != NEVER:
                    arrival[out, edge_out] = max(arrival[out, edge_out], arrival[net, edge_in] + delays[edge_out])
    result = np.zeros(len(clocked.reg_instance), dtype=np.int64)
    for r in range(len(clocked.reg_instance)):
        pins = [j for j in range(clocked.reg_inputs.shape[1]) if (clocked.reg_clock_pins[r] >> j) & 1]
        k = int((clocked.reg_inputs[r] >= 0).sum())
        times = []
        for j in pins:
            raises, _lowers = unateness(int(clocked.reg_clock_table[r]), k, j)
            times.append(arrival[int(clocked.reg_inputs[r, j]), RISE if raises else FALL])
        result[r] = max(times) if times and max(times) != NEVER else 0
    return result


def _constraint(arcs, edge: int, slew: float, step: float) -> int:
    """Largest setup or hold time (steps) of the arcs for a rising or falling data edge."""
    tables = [a.rise_constraint if edge == RISE else a.fall_constraint for a in arcs]
    values = [t.lookup(slew, 0.0) for t in tables if t is not None]
    return int(np.rint(max(values) / step)) if values else 0


def _trace(netlist, source, net: int, edge: int) -> tuple[str, ...]:
    points = []
    while net >= 0:
        points.append(f"{netlist.nets[net].lstrip(chr(92))} {'rise' if edge == RISE else 'fall'}")
        net, edge = (int(x) for x in source[net, edge])
    return tuple(points[::-1])

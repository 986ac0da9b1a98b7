"""Static timing of clocked netlists: register-to-register, input-to-register and register-to-output paths.

The clock rises at the clock port at time 0 and reaches each register's clock pin
through the clock tree (a propagated clock); a register launches at that arrival
plus its clock-to-output delay. Input ports change a set fraction of the period
after the edge (half, as the clocked simulator applies them; 0 is OpenSTA's
`set_input_delay 0`) and output ports are required at the next edge (an output
delay of 0). A register's data pin is required one
period after its own clock arrival, less the setup time of the Liberty
`setup_rising`/`setup_falling` table (looked up at the nominal slew on both axes, rise
constraint for a rising data edge); the hold check compares the earliest arrival with
the clock arrival plus the hold time. Gate delays are those of the simulator
(`TimedGates`), so the minimum period bounds what the clocked simulation produces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from characterize.errors import SimulationError
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

    def record(self, period_ps: float | None = None) -> dict:
        """The JSON record (`period_ps`, `min_period_ps`, `setup_slack_ps`, `hold_slack_ps`, `critical`);
        period and setup slack are None without a period."""
        critical = self.critical
        return {
            "period_ps": period_ps,
            "min_period_ps": self.min_period_ps,
            "setup_slack_ps": None if period_ps is None else self.setup_slack_ps(period_ps),
            "hold_slack_ps": self.hold_slack_ps,
            "critical": None if critical is None else {
                "kind": critical.kind, "endpoint": critical.endpoint, "path": list(critical.path)},
        }


def sequential_timing(clocked: ClockedGates, input_arrival: float = 0.5) -> SequentialTiming:
    """Minimum period, worst hold slack and critical path of a clocked netlist.

    Inputs change `input_arrival` periods after a rising clock edge and must reach
    registers and outputs by the next one: 0.5 is the clocked simulator's stimulus (row
    i at i·P, edge at i·P + P/2); 0 is OpenSTA's `set_input_delay 0`.
    """
    if not 0 <= input_arrival < 1:
        raise SimulationError(f"input_arrival must be in [0, 1), got {input_arrival}")
    netlist, timed = clocked.netlist, clocked.timed
    step = timed.resolution_s
    clock_arrival = _clock_arrivals(clocked)
    from_inputs = _propagate(clocked, {int(n): (0, 0) for n in clocked.data_nets})
    launches = {}
    for g in range(len(clocked.output_net)):
        r = int(clocked.output_inputs[g, 0]) - len(netlist.nets)
        launches[int(clocked.output_net[g])] = (int(clock_arrival[r] + clocked.output_rise[g]),
                                                int(clock_arrival[r] + clocked.output_fall[g]))
    from_registers = _propagate(clocked, launches)
    checks: list[tuple[int, str, str, tuple]] = []  # (required period, kind, endpoint, (arrivals, net, edge))
    holds: dict[str, list[int]] = {"input": [], "register": []}  # slack, inputs counted from their change
    for kind, (late, early, _source), scale in (("input", from_inputs, 1 - input_arrival),
                                                ("register", from_registers, 1.0)):
        for r, index in enumerate(clocked.reg_instance):
            inst = netlist.instances[index]
            cell = netlist.library.cells[inst.cell]
            for pin, net in zip(cell.inputs, inst.inputs):
                setup = [a for a in cell.timing if a.pin == pin and a.timing_type.startswith("setup")]
                hold = [a for a in cell.timing if a.pin == pin and a.timing_type.startswith("hold")]
                for edge in (RISE, FALL):
                    if late[net, edge] == NEVER:
                        continue
                    if setup:
                        need = int(late[net, edge]) + _constraint(setup, edge, timed.input_slew_s, step) - int(clock_arrival[r])
                        checks.append((int(np.ceil(need / scale)), f"{kind}-to-register", f"{inst.name}/{pin}",
                                       (late, _source, net, edge)))
                    if hold:
                        margin = _constraint(hold, edge, timed.input_slew_s, step)
                        holds[kind].append(int(early[net, edge]) - int(clock_arrival[r]) - margin)
        for port in netlist.outputs:
            for net in port.nets:
                for edge in (RISE, FALL):
                    if late[net, edge] != NEVER:
                        checks.append((int(np.ceil(int(late[net, edge]) / scale)), f"{kind}-to-output",
                                       netlist.nets[net].lstrip(chr(92)), (late, _source, net, edge)))
    period, kind, name, (_late, source, net, edge) = max(checks, key=lambda c: c[0], default=(0, "", "", (0, 0, -1, 0)))
    slacks = holds["register"] + [h + round(input_arrival * period) for h in holds["input"]]
    hold_slack = min(slacks) if slacks else None
    if not checks:
        return SequentialTiming(0, hold_slack, None, step)
    return SequentialTiming(period, hold_slack, Endpoint(kind, name, period, _trace(netlist, source, net, edge)), step)


def _propagate(clocked: ClockedGates, launches: dict[int, tuple[int, int]]):
    """Latest and earliest (rise, fall) arrival per net from the launch times, and the latest path's predecessors."""
    timed = clocked.timed
    nets = timed.net_count
    late = np.full((nets, 2), NEVER, dtype=np.int64)
    early = np.full((nets, 2), -NEVER, dtype=np.int64)
    source = np.full((nets, 2, 2), -1, dtype=np.int64)
    for net, times in launches.items():
        late[net] = early[net] = times
    in_clock = clock_network(clocked)
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
                early[out, edge_out] = min(early[out, edge_out], early[net, edge_in] + delays[g, edge_out])
    return late, early, source


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

"""Static timing of clocked netlists: register-to-register, input-to-register and register-to-output paths.

The delays are those of the combinational STA (`delaycalc.calculate_delays`: NLDM
arcs at propagated slews, wire-load interconnect), with the flip-flops' clock-to-output
arcs timed at the slew and load they see. The clock port rises at time 0 and reaches
each register's clock pin through the clock tree (a propagated clock, wire delays
included); a register launches at that arrival plus its clock-to-output delay. Input
ports change a set fraction of the period after the edge (half, as the clocked
simulator applies them; 0 is OpenSTA's `set_input_delay 0`) and output ports are
required at the next ideal edge (an output delay of 0). A data pin is required one
period after its own clock arrival, less the setup time of the Liberty
`setup_rising`/`setup_falling` table at the clock pin's and the data pin's slews
(rise constraint for a rising data edge); the hold check compares the earliest
arrival with the clock arrival plus the hold time. Asynchronous clear and preset arcs
carry paths like any other; their recovery and removal checks are not timed. This is
what OpenSTA reports with `create_clock`, `set_propagated_clock` and `report_checks`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from characterize.errors import NetlistError, SimulationError
from characterize.timing.clocked import ClockedGates, clock_network
from characterize.timing.delaycalc import FALL, RISE, DelayCalculation, calculate_delays
from characterize.timing.sta import EDGE_NAMES, propagate


@dataclass(frozen=True)
class Endpoint:
    """One timing check: where it ends, what launched the worst path, the period it needs (s), and the path."""

    kind: str
    endpoint: str
    required_period_s: float
    path: tuple[str, ...]


@dataclass(frozen=True)
class SequentialTiming:
    """The minimum clock period (the worst setup or output check, s), the worst hold slack (s) and the critical path."""

    min_period_s: float
    hold_slack_s: float | None
    critical: Endpoint | None

    @property
    def min_period_ps(self) -> float:
        return self.min_period_s * 1e12

    @property
    def hold_slack_ps(self) -> float | None:
        return None if self.hold_slack_s is None else self.hold_slack_s * 1e12

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
    """Minimum period, worst hold slack and critical path of a clocked netlist, at its input slew and output load.

    Inputs change `input_arrival` periods after a rising clock edge and must reach
    registers and outputs by the next one: 0.5 is the clocked simulator's stimulus (row
    i at i·P, edge at i·P + P/2); 0 is OpenSTA's `set_input_delay 0`.
    """
    timed = clocked.timed
    calc = calculate_delays(clocked.netlist, timed.input_slew_s, timed.external_load_f)
    return register_timing(calc, clocked.clock_port, clock_network(clocked), input_arrival)


def register_timing(calc: DelayCalculation, clock_port: str, in_clock: np.ndarray,
                    input_arrival: float = 0.5) -> SequentialTiming:
    """Sequential timing over `calc`'s delays; `in_clock` marks the nets of the clock tree (see the module docstring)."""
    if not 0 <= input_arrival < 1:
        raise SimulationError(f"input_arrival must be in [0, 1), got {input_arrival}")
    netlist = calc.netlist
    cells = netlist.library.cells
    clock_net = netlist.port(clock_port).nets[0]
    nets = len(netlist.nets)
    paths = {}
    for kind, latest in (("late", True), ("early", False)):
        bound = -np.inf if latest else np.inf
        from_inputs, from_registers = np.full((nets, 2), bound), np.full((nets, 2), bound)
        data = [n for p in netlist.inputs if p.name != clock_port for n in p.nets]
        from_inputs[data] = 0.0
        from_registers[clock_net, RISE] = 0.0
        paths[kind] = {"input": (from_inputs, propagate(calc, from_inputs, latest)),
                       "register": (from_registers, propagate(calc, from_registers, latest))}
    clock_arrival = paths["late"]["register"][0]
    checks: list[tuple[float, str, str, tuple]] = []  # (required period, kind, endpoint, (source, net, edge))
    holds: dict[str, list[float]] = {"input": [], "register": []}  # slack (s), inputs counted from their change
    for index, inst in enumerate(netlist.instances):
        cell = cells[inst.cell]
        if cell.register is None:
            continue
        where = f"{netlist.source}:{inst.line}: " if netlist.source and inst.line else ""
        if cell.register.kind != "ff":
            raise NetlistError(f"{where}instance {inst.name}: cell {cell.name} is a latch, which the sequential STA "
                               "does not time")
        for pin, net in enumerate(inst.inputs):
            for check in cell.checks(cell.inputs[pin], "setup") + cell.checks(cell.inputs[pin], "hold"):
                clock_pin = cell.inputs.index(check.related_pin)
                clock_edge = RISE if check.timing_type.endswith("rising") else FALL
                clock_at = clock_arrival[inst.inputs[clock_pin], clock_edge]
                if not np.isfinite(clock_at):
                    raise NetlistError(f"{where}instance {inst.name}: the rising edge of clock {clock_port} does not "
                                       f"reach {check.related_pin} as the {EDGE_NAMES[clock_edge]} it samples on")
                clock_at += calc.sink_delay_s[(index, clock_pin)][clock_edge]
                clock_slew = calc.sink_slew_s[(index, clock_pin)][clock_edge]
                for edge in (RISE, FALL):
                    table = check.rise_constraint if edge == RISE else check.fall_constraint
                    limit = table.constraint(clock_slew, calc.sink_slew_s[(index, pin)][edge]) if table else 0.0
                    wire = calc.sink_delay_s[(index, pin)][edge]
                    for source_kind, scale in (("input", 1 - input_arrival), ("register", 1.0)):
                        if check.timing_type.startswith("setup"):
                            arrival, source = paths["late"][source_kind]
                            if np.isfinite(arrival[net, edge]):
                                need = (arrival[net, edge] + wire + limit - clock_at) / scale
                                checks.append((need, f"{source_kind}-to-register", f"{inst.name}/{cell.inputs[pin]}",
                                               (source, net, edge)))
                        else:
                            arrival, _source = paths["early"][source_kind]
                            if np.isfinite(arrival[net, edge]):
                                holds[source_kind].append(arrival[net, edge] + wire - clock_at - limit)
    for port in netlist.outputs:
        for net in port.nets:
            for edge in (RISE, FALL):
                for source_kind, scale in (("input", 1 - input_arrival), ("register", 1.0)):
                    arrival, source = paths["late"][source_kind]
                    if np.isfinite(arrival[net, edge]) and not in_clock[net]:
                        need = (arrival[net, edge] + calc.port_delay_s[net][edge]) / scale
                        checks.append((need, f"{source_kind}-to-output", netlist.nets[net].lstrip(chr(92)),
                                       (source, net, edge)))
    if not checks:
        slacks = holds["register"] + holds["input"]
        return SequentialTiming(0.0, min(slacks) if slacks else None, None)
    period, kind, name, (source, net, edge) = max(checks, key=lambda c: c[0])
    period = max(period, 0.0)
    slacks = holds["register"] + [h + input_arrival * period for h in holds["input"]]
    hold_slack = float(min(slacks)) if slacks else None
    return SequentialTiming(float(period), hold_slack, Endpoint(kind, name, float(period), _trace(calc, source, net, edge)))


def _trace(calc: DelayCalculation, source: dict, net: int, edge: int) -> tuple[str, ...]:
    """The path's nets and edges, launch first, from the arcs that set each latest arrival."""
    netlist = calc.netlist
    points = [f"{netlist.nets[net].lstrip(chr(92))} {EDGE_NAMES[edge]}"]
    while (net, edge) in source:
        index, pin, arc = source[(net, edge)]
        net, edge = netlist.instances[index].inputs[pin], arc.from_edge
        points.append(f"{netlist.nets[net].lstrip(chr(92))} {EDGE_NAMES[edge]}")
    return tuple(points[::-1])

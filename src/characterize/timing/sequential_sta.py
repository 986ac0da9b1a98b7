"""Static timing of clocked netlists: register-to-register, input-to-register and register-to-output paths.

The delays are those of the combinational STA (`delaycalc.calculate_delays`: NLDM
arcs at propagated slews, wire-load interconnect), with the flip-flops' clock-to-output
arcs timed at the slew and load they see. The clock port rises at time 0 and reaches
each register's clock pin through the clock tree (a propagated clock, wire delays
included); a register launches at that arrival plus its clock-to-output delay. Input
ports change a set fraction of the period after the edge (half, as the clocked
simulator applies them; 0 is OpenSTA's `set_input_delay 0`), or a set time after
it (`input_delay_s`, OpenSTA's `set_input_delay`), and output ports are
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

from cells.units import PS_PER_S
from characterize.errors import NetlistError, SimulationError
from characterize.timing.clocked import ClockedGates, clock_network
from characterize.timing.delaycalc import FALL, RISE, DelayCalculation, calculate_delays
from characterize.timing.sta import EDGE_NAMES, propagate


@dataclass(frozen=True)
class Endpoint:
    """One timing check: where it ends, what launched the worst path, the period it needs (s), and the path:
    its nets with their edges, and the latest arrival (s) at each, from the launching clock edge; a path from an
    input counts from the input's change, or, with an input delay, from the clock edge that delay follows."""

    kind: str
    endpoint: str
    required_period_s: float
    path: tuple[str, ...]
    arrivals_s: tuple[float, ...] = ()


@dataclass(frozen=True)
class SequentialTiming:
    """The minimum clock period (the worst setup or output check, s), the worst hold slack (s) and the critical path."""

    min_period_s: float
    hold_slack_s: float | None
    critical: Endpoint | None
    input_delay_s: float | None = None  # inputs this long after the edge; None: half a period after it

    @property
    def min_period_ps(self) -> float:
        return self.min_period_s * PS_PER_S

    @property
    def hold_slack_ps(self) -> float | None:
        return None if self.hold_slack_s is None else self.hold_slack_s * PS_PER_S

    def setup_slack_ps(self, period_ps: float) -> float:
        return period_ps - self.min_period_ps

    def record(self, period_ps: float | None = None) -> dict:
        """The JSON record (`period_ps`, `input_delay_ps`, `min_period_ps`, `setup_slack_ps`, `hold_slack_ps`,
        `critical`); period and setup slack are None without a period, the input delay None for half a period."""
        critical = self.critical
        return {
            "period_ps": period_ps,
            "input_delay_ps": None if self.input_delay_s is None else self.input_delay_s * PS_PER_S,
            "min_period_ps": self.min_period_ps,
            "setup_slack_ps": None if period_ps is None else self.setup_slack_ps(period_ps),
            "hold_slack_ps": self.hold_slack_ps,
            "critical": None if critical is None else {
                "kind": critical.kind, "endpoint": critical.endpoint, "path": list(critical.path),
                "arrival_ps": [t * PS_PER_S for t in critical.arrivals_s]},
        }


def sequential_timing(clocked: ClockedGates, input_arrival: float = 0.5,
                      input_delay_s: float | None = None) -> SequentialTiming:
    """Minimum period, worst hold slack and critical path of a clocked netlist, at its input slew and output load.

    Inputs change `input_arrival` periods after a rising clock edge and must reach
    registers and outputs by the next one: 0.5 is the clocked simulator's stimulus (row
    i at i·P, edge at i·P + P/2); 0 is OpenSTA's `set_input_delay 0`. With
    `input_delay_s`, they change that long after the edge instead (`set_input_delay`).
    """
    timed = clocked.timed
    calc = clocked.calculation
    if calc is None:
        calc = calculate_delays(clocked.netlist, timed.input_slew_s, timed.external_load_f)
    return register_timing(calc, clocked.clock_port, clock_network(clocked), input_arrival, input_delay_s)


def register_timing(calc: DelayCalculation, clock_port: str, in_clock: np.ndarray,
                    input_arrival: float = 0.5, input_delay_s: float | None = None) -> SequentialTiming:
    """Sequential timing over `calc`'s delays; `in_clock` marks the nets of the clock tree (see the module docstring).

    Every time is a phase of the period plus a delay: a launch at phase a with path
    delay d reaches a check whose edge comes at phase c with latency l and limit s
    in time when a·P + d + s <= c·P + l, so the period must be at least
    (d + s - l) / (c - a).
    """
    if not 0 <= input_arrival < 1:
        raise SimulationError(f"input_arrival must be in [0, 1), got {input_arrival}")
    if input_delay_s is not None and input_delay_s < 0:
        raise SimulationError(f"the input delay must not be negative, got {input_delay_s * PS_PER_S:g} ps")
    input_phase, input_start = (input_arrival, 0.0) if input_delay_s is None else (0.0, input_delay_s)
    netlist = calc.netlist
    cells = netlist.library.cells
    clock_net = netlist.port(clock_port).nets[0]
    nets = len(netlist.nets)
    data = [n for p in netlist.inputs if p.name != clock_port for n in p.nets]
    # launch groups: (phase, name, launch (net, edge)s); the clock port's rise at phase 0, its fall at 1/2
    groups = ((input_phase, "input", [(n, e) for n in data for e in (RISE, FALL)]),
              (0.0, "register", [(clock_net, RISE)]), (0.5, "register", [(clock_net, FALL)]))
    paths = {}  # (latest, group) -> (arrival, source)
    for latest in (True, False):
        for group, (_phase, kind, launches) in enumerate(groups):
            arrival = np.full((nets, 2), -np.inf if latest else np.inf)
            for net, edge in launches:
                arrival[net, edge] = input_start if kind == "input" else 0.0
            paths[(latest, group)] = (arrival, propagate(calc, arrival, latest))
    clock = {phase: paths[(True, group)][0] for group, (phase, kind, _) in enumerate(groups) if kind == "register"}
    checks: list[tuple[float, str, str, tuple]] = []  # (required period, kind, endpoint, (source, net, edge))
    holds: list[tuple[float, float]] = []  # (slack at period 0, slack per period)
    for index, inst in enumerate(netlist.instances):
        cell = cells[inst.cell]
        if cell.register is None:
            continue
        where = f"{netlist.source}:{inst.line}: " if netlist.source and inst.line else ""
        for pin, net in enumerate(inst.inputs):
            for check in cell.checks(cell.inputs[pin], "setup") + cell.checks(cell.inputs[pin], "hold"):
                clock_pin = cell.inputs.index(check.related_pin)
                clock_edge = RISE if check.timing_type.endswith("rising") else FALL
                edge_phase, latency = _clock_edge(clock, inst.inputs[clock_pin], clock_edge, where + f"instance {inst.name}",
                                                  clock_port, check.related_pin)
                latency += calc.sink_delay_s[(index, clock_pin)][clock_edge]
                clock_slew = calc.sink_slew_s[(index, clock_pin)][clock_edge]
                opening = _opening_phase(clock, cell, inst, clock_pin, clock_edge)
                for edge in (RISE, FALL):
                    table = check.rise_constraint if edge == RISE else check.fall_constraint
                    limit = table.constraint(clock_slew, calc.sink_slew_s[(index, pin)][edge]) if table else 0.0
                    wire = calc.sink_delay_s[(index, pin)][edge]
                    setup = check.timing_type.startswith("setup")
                    for group, (phase, kind, _launches) in enumerate(groups):
                        arrival, source = paths[(setup, group)]
                        if not np.isfinite(arrival[net, edge]):
                            continue
                        if setup:
                            capture = _capture_phase(edge_phase, phase, opening)
                            need = (arrival[net, edge] + wire + limit - latency) / (capture - phase)
                            checks.append((need, f"{kind}-to-register", f"{inst.name}/{cell.inputs[pin]}",
                                           (arrival, source, net, edge)))
                        else:
                            held = edge_phase + np.floor(phase - edge_phase)  # the last such edge at or before the launch
                            holds.append((arrival[net, edge] + wire - latency - limit, phase - held))
    for port in netlist.outputs:
        for net in port.nets:
            for edge in (RISE, FALL):
                for group, (phase, kind, _launches) in enumerate(groups):
                    arrival, source = paths[(True, group)]
                    if np.isfinite(arrival[net, edge]) and not in_clock[net]:
                        need = (arrival[net, edge] + calc.port_delay_s[net][edge]) / (np.floor(phase) + 1 - phase)
                        checks.append((need, f"{kind}-to-output", netlist.nets[net].lstrip(chr(92)),
                                       (arrival, source, net, edge)))
    if not checks:
        return SequentialTiming(0.0, min((h for h, _ in holds), default=None), None, input_delay_s)
    period, kind, name, (arrival, source, net, edge) = max(checks, key=lambda c: c[0])
    period = max(float(period), 0.0)
    hold_slack = float(min(h + per * period for h, per in holds)) if holds else None
    return SequentialTiming(period, hold_slack, Endpoint(kind, name, period, *_trace(calc, arrival, source, net, edge)),
                            input_delay_s)


def _clock_edge(clock, net: int, edge: int, where: str, clock_port: str, pin: str) -> tuple[float, float]:
    """(phase, latency) of the clock edge that reaches `net` as `edge`: from the port's rise (phase 0) or fall (1/2).

    `clock` holds the latest arrivals from the port's rise and from its fall, by phase."""
    found = [(phase, clock[phase][net, edge]) for phase in (0.0, 0.5)]
    found = [(phase, float(t)) for phase, t in found if np.isfinite(t)]
    if len(found) != 1:
        reached = "both edges of" if found else "no edge of"
        raise NetlistError(f"{where}: {pin} sees its {EDGE_NAMES[edge]} from {reached} clock {clock_port}, "
                           "which the sequential STA does not time")
    return found[0]


def _opening_phase(clock, cell, inst, clock_pin: int, closing_edge: int) -> float | None:
    """Phase of a latch's opening edge (the other edge of its enable pin); None for a flip-flop."""
    if cell.register.kind != "latch":
        return None
    net, opening = inst.inputs[clock_pin], 1 - closing_edge
    return next((phase for phase in (0.0, 0.5) if np.isfinite(clock[phase][net, opening])), None)


def _capture_phase(edge_phase: float, launch: float, opening: float | None) -> float:
    """The phase of the edge that captures a launch: a flip-flop's next active edge after it; a latch's closing
    edge that ends the first transparent phase opening at or after it (the latch timed as a register)."""
    if opening is None:
        return edge_phase + np.floor(launch - edge_phase) + 1
    opened = opening + np.ceil(launch - opening)
    return edge_phase + np.floor(opened - edge_phase) + 1


def _trace(calc: DelayCalculation, arrival: np.ndarray, source: dict, net: int,
           edge: int) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The path's nets and edges, launch first, from the arcs that set each latest arrival; and those arrivals (s)."""
    netlist = calc.netlist
    points = [f"{netlist.nets[net].lstrip(chr(92))} {EDGE_NAMES[edge]}"]
    times = [float(arrival[net, edge])]
    while (net, edge) in source:
        index, pin, arc = source[(net, edge)]
        net, edge = netlist.instances[index].inputs[pin], arc.from_edge
        points.append(f"{netlist.nets[net].lstrip(chr(92))} {EDGE_NAMES[edge]}")
        times.append(float(arrival[net, edge]))
    return tuple(points[::-1]), tuple(times[::-1])

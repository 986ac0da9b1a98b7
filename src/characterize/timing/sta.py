"""Static timing: latest rise and fall arrival at every net, the critical delay and its path.

`static_timing` uses the same gate or arc delays as the simulator. An output rise
can only be started by a rise of a positive-unate input, a fall of a
negative-unate input, or any change of a binate input (and symmetrically for
falls), so the arrival times bound every event the simulator can produce:
the critical delay is at least every sensitized delay. `critical_path` times
the arcs of a `DelayCalculation` (NLDM delays at propagated slews, interconnect
delays), as a sign-off timer does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cells.units import FF_PER_F, PS_PER_S
from characterize.timing.delaycalc import FALL, RISE, DelayCalculation
from characterize.timing.delays import TimedGates

EDGE_NAMES = ("rise", "fall")
_MARK = ("^", "v")


@dataclass(frozen=True)
class PathPoint:
    """One step of a timing path: the net, the edge that arrives on it, when, and the instance that drove it."""

    net: str
    edge: str
    arrival_steps: int
    instance: str | None


@dataclass(frozen=True)
class TimingReport:
    """Critical delay (steps and seconds) to the latest output-port net, and the path that sets it."""

    critical_delay_steps: int
    critical_delay_s: float
    path: tuple[PathPoint, ...]


def unateness(table: int, k: int, j: int) -> tuple[bool, bool]:
    """(can a rise of input j raise the output, can it lower it) for truth table `table` of k inputs."""
    raises = lowers = False
    for i in range(1 << k):
        if (i >> j) & 1:
            continue
        before, after = (table >> i) & 1, (table >> (i | (1 << j))) & 1
        raises |= after > before
        lowers |= after < before
    return raises, lowers


def static_timing(timed: TimedGates, launch_nets: np.ndarray | None = None) -> TimingReport:
    """Arrival times by topological propagation; the path is traced back from the latest output edge.

    Every input-port bit launches at time 0 unless `launch_nets` names the ones
    that switch (a weight held at its port, as in a weight-stationary array,
    launches nothing). With arc delays each input pin adds its own delay: an
    output event comes at most its causing pin's delay after that pin's change.
    """
    nets = timed.net_count
    arrival = np.full((nets, 2), -1, dtype=np.int64)  # -1: this edge never happens on the net
    source = np.full((nets, 2, 2), -1, dtype=np.int64)  # (predecessor net, predecessor edge)
    arrival[timed.input_nets if launch_nets is None else launch_nets] = 0
    delays = np.stack([timed.rise_steps, timed.fall_steps], axis=1)
    arc_delays = (timed.arc_rise_steps, timed.arc_fall_steps)
    for g in range(timed.gate_count):
        row = [int(n) for n in timed.gate_inputs[g] if n >= 0]
        out = int(timed.gate_output[g])
        table = int(timed.gate_table[g]) & ((1 << 64) - 1)
        for j, net in enumerate(row):
            raises, lowers = unateness(table, len(row), j)
            # (input edge, output edge) pairs this input can cause
            pairs = [(RISE, RISE)] * raises + [(FALL, FALL)] * raises + [(RISE, FALL)] * lowers + [(FALL, RISE)] * lowers
            for edge_in, edge_out in pairs:
                if arrival[net, edge_in] < 0:
                    continue
                delay = delays[g, edge_out] if not timed.per_arc else arc_delays[edge_out][g, j, edge_in]
                time = arrival[net, edge_in] + delay
                if time > arrival[out, edge_out]:
                    arrival[out, edge_out] = time
                    source[out, edge_out] = (net, edge_in)
    outputs = timed.output_nets
    if len(outputs) == 0 or arrival[outputs].max() < 0:
        return TimingReport(0, 0.0, ())
    flat = int(np.argmax(arrival[outputs]))
    net, edge = int(outputs[flat // 2]), flat % 2
    latest = int(arrival[net, edge])
    return TimingReport(latest, latest * timed.resolution_s, tuple(_trace(timed, arrival, source, net, edge)))


def _trace(timed: TimedGates, arrival, source, net: int, edge: int) -> list[PathPoint]:
    drivers = {int(o): int(timed.gate_instance[g]) for g, o in enumerate(timed.gate_output)}
    netlist = timed.netlist
    points = []
    while net >= 0:
        driver = drivers.get(net)
        points.append(
            PathPoint(
                netlist.nets[net],
                "rise" if edge == RISE else "fall",
                int(arrival[net, edge]),
                netlist.instances[driver].name if driver is not None else None,
            )
        )
        net, edge = (int(x) for x in source[net, edge])
    return points[::-1]


@dataclass(frozen=True)
class PathStage:
    """One pin of a timing path, as `report_checks` lists it.

    `pin` is `instance/PIN` or a port bit; `arc` says what the delay is: `wire`
    (interconnect to an instance pin or output port), `A ^ -> Y v` (a cell arc),
    or `in` (a primary input). Times in seconds; `load_f` on driver pins only.
    """

    pin: str
    instance: str | None
    cell: str | None
    edge: str
    arc: str
    slew_s: float
    delay_s: float
    arrival_s: float
    load_f: float | None = None


@dataclass(frozen=True)
class CriticalPath:
    """The latest arrival at an output-port bit (s) and the path that sets it, input first."""

    critical_delay_s: float
    path: tuple[PathStage, ...]

    def record(self) -> dict:
        """The JSON record: `critical_delay_ps`, and `path` with each stage's pin, instance, cell, edge, arc,
        `slew_ps`, `delay_ps`, `arrival_ps` and `load_ff` (None but on driver pins)."""
        path = [
            {"pin": stage.pin, "instance": stage.instance, "cell": stage.cell, "edge": stage.edge, "arc": stage.arc,
             "slew_ps": stage.slew_s * PS_PER_S, "delay_ps": stage.delay_s * PS_PER_S,
             "arrival_ps": stage.arrival_s * PS_PER_S,
             "load_ff": None if stage.load_f is None else stage.load_f * FF_PER_F}
            for stage in self.path
        ]
        return {"critical_delay_ps": self.critical_delay_s * PS_PER_S, "path": path}


def critical_path(calc: DelayCalculation, launch_nets: np.ndarray | None = None) -> CriticalPath:
    """Latest arrivals by topological propagation over `calc`'s arc and interconnect delays; the path traced back.

    Every input-port bit launches at time 0 on both edges unless `launch_nets`
    names the ones that switch.
    """
    netlist = calc.netlist
    arrival = np.full((len(netlist.nets), 2), -np.inf)
    launched = [n for p in netlist.inputs for n in p.nets] if launch_nets is None else launch_nets
    arrival[launched] = 0.0
    source = propagate(calc, arrival)
    best, end = -np.inf, None
    for port in netlist.outputs:
        for net in port.nets:
            for edge in (RISE, FALL):
                if arrival[net, edge] > -np.inf and arrival[net, edge] + calc.port_delay_s[net][edge] > best:
                    best, end = arrival[net, edge] + calc.port_delay_s[net][edge], (net, edge)
    if end is None:
        return CriticalPath(0.0, ())
    return CriticalPath(float(best), tuple(_trace_stages(calc, arrival, source, *end)))


def propagate(calc: DelayCalculation, arrival: np.ndarray, latest: bool = True) -> dict[tuple[int, int], tuple]:
    """Arrival times (s, nets × edge) through `calc`'s arcs and interconnect, in place, from the launch times set.

    Unset entries are -inf (latest) or +inf (earliest arrival, `latest=False`).
    Returns, per (net, edge) an arc set, the (instance, input pin index, arc) that set it.
    A latch's data-to-output arcs carry no path: static timing treats a latch as a
    register, launching at its enable and capturing at its data pin.
    """
    netlist = calc.netlist
    sign = 1.0 if latest else -1.0
    source: dict[tuple[int, int], tuple] = {}
    for index in calc.order:
        inst = netlist.instances[index]
        cell = netlist.library.cells[inst.cell]
        pins = {name: k for k, name in enumerate(cell.inputs)}
        outputs = dict(zip(cell.outputs, inst.outputs))
        latch_data = cell.data_pins if cell.register is not None and cell.register.kind == "latch" else ()
        for arc in calc.arcs_by_instance.get(index, ()):
            if arc.from_pin in latch_data:
                continue
            pin = pins[arc.from_pin]
            start = arrival[inst.inputs[pin], arc.from_edge]
            if not np.isfinite(start):
                continue
            time = start + calc.sink_delay_s[(index, pin)][arc.from_edge] + arc.delay_s
            net = outputs[arc.to_pin]
            if sign * time > sign * arrival[net, arc.to_edge]:
                arrival[net, arc.to_edge] = time
                source[(net, arc.to_edge)] = (index, pin, arc)
    return source


def _trace_stages(calc: DelayCalculation, arrival, source, net: int, edge: int) -> list[PathStage]:
    netlist = calc.netlist
    names = netlist.nets
    wire = calc.port_delay_s[net][edge]
    stages = [PathStage(f"{names[net]} (out)", None, None, EDGE_NAMES[edge], "wire",
                        float(calc.net_slews_s[net, edge]), wire, float(arrival[net, edge] + wire))]
    while (net, edge) in source:
        index, pin, arc = source[(net, edge)]
        inst = netlist.instances[index]
        cell = netlist.library.cells[inst.cell]
        in_net = inst.inputs[pin]
        wire = calc.sink_delay_s[(index, pin)][arc.from_edge]
        stages.append(PathStage(f"{inst.name}/{arc.to_pin}", inst.name, inst.cell, EDGE_NAMES[edge],
                                f"{arc.from_pin} {_MARK[arc.from_edge]} -> {arc.to_pin} {_MARK[edge]}",
                                float(calc.net_slews_s[net, edge]), arc.delay_s, float(arrival[net, edge]),
                                float(calc.load_f[net, edge])))
        stages.append(PathStage(f"{inst.name}/{cell.inputs[pin]}", inst.name, inst.cell, EDGE_NAMES[arc.from_edge],
                                "wire", calc.sink_slew_s[(index, pin)][arc.from_edge], wire,
                                float(arrival[in_net, arc.from_edge] + wire)))
        net, edge = in_net, arc.from_edge
    stages.append(PathStage(f"{names[net]} (in)", None, None, EDGE_NAMES[edge], "in",
                            float(calc.net_slews_s[net, edge]), 0.0, float(arrival[net, edge])))
    return stages[::-1]

"""Static timing: latest rise and fall arrival at every net, the critical delay and its path.

Uses the same per-gate rise and fall delays as the simulator. An output rise
can only be started by a rise of a positive-unate input, a fall of a
negative-unate input, or any change of a binate input (and symmetrically for
falls), so the arrival times bound every event the simulator can produce:
the critical delay is at least every sensitized delay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from characterize.timing.delays import TimedGates

RISE, FALL = 0, 1


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
    launches nothing).
    """
    nets = timed.net_count
    arrival = np.full((nets, 2), -1, dtype=np.int64)  # -1: this edge never happens on the net
    source = np.full((nets, 2, 2), -1, dtype=np.int64)  # (predecessor net, predecessor edge)
    arrival[timed.input_nets if launch_nets is None else launch_nets] = 0
    delays = np.stack([timed.rise_steps, timed.fall_steps], axis=1)
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
                time = arrival[net, edge_in] + delays[g, edge_out]
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

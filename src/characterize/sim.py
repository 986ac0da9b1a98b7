"""Event-driven, glitch-accurate timing simulation of input transitions through a timed netlist.

Each of N transitions, vector i -> vector i + 1, starts from the circuit settled at
vector i: the input bits that change switch at time 0, and gates react with the
inertial semantics of Icarus Verilog's `assign #(rise, fall)` (DESIGN.md, "Timing
semantics of sim") until no update is pending. Transitions are independent of any
clock: each runs to completion before the next. The event loop is one compiled
kernel over all transitions (`characterize._sim_kernel`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from characterize._sim_kernel import run_transitions
from characterize.delays import TimedGates, timescale_unit
from characterize.errors import SimulationError
from characterize.logic import net_values, port_bits
from characterize.netlist import CONST0, CONST_NAMES


@dataclass(frozen=True)
class SimResult:
    """Activity of N transitions.

    `toggles` counts every value change per net (glitches included, input bits
    too); `settled_changes` counts the transitions in which a net's settled value
    changed. `sensitized_delay_steps` is per transition the time of the last event
    on an output-port net (0 when no output changes) and `settle_steps` that of the
    last event on any net, both in steps of `resolution_s`. `events` counts gate
    output changes. `toggles_per_transition` (N × nets) and `weighted_toggles`
    (per transition, Σ toggles × net weight) are present when asked for.
    """

    toggles: np.ndarray
    settled_changes: np.ndarray
    sensitized_delay_steps: np.ndarray
    settle_steps: np.ndarray
    events: int
    resolution_s: float
    toggles_per_transition: np.ndarray | None = None
    weighted_toggles: np.ndarray | None = None

    @property
    def transitions(self) -> int:
        return len(self.sensitized_delay_steps)

    @property
    def glitches(self) -> np.ndarray:
        """Toggles beyond the settled changes, per net."""
        return self.toggles - self.settled_changes

    @property
    def sensitized_delay_s(self) -> np.ndarray:
        return self.sensitized_delay_steps * self.resolution_s


def input_bit_matrix(timed: TimedGates, inputs: Mapping[str, Iterable[int]]) -> np.ndarray:
    """Input-port bits per vector (vectors × `timed.input_nets`), checked against the netlist's input ports."""
    ports = timed.netlist.inputs
    names = {p.name for p in ports}
    missing = names - set(inputs)
    unknown = set(inputs) - names
    if missing or unknown:
        raise SimulationError(
            f"inputs must name exactly the input ports {sorted(names)}: "
            f"missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    columns = {name: np.asarray(values) for name, values in inputs.items()}
    lengths = {len(v) if v.ndim == 1 else -1 for v in columns.values()}
    if len(lengths) != 1 or min(lengths) < 2 or not all(np.issubdtype(v.dtype, np.integer) for v in columns.values()):
        raise SimulationError("inputs must be 1-D integer arrays of one length, at least 2 vectors (1 transition)")
    if not ports:
        raise SimulationError(f"netlist {timed.netlist.name} has no input ports to drive")
    return np.ascontiguousarray(np.concatenate([port_bits(p, columns[p.name]).T for p in ports], axis=1))


def settled_values(timed: TimedGates, bits: np.ndarray) -> np.ndarray:
    """Value of every net (uint8) with the circuit settled at one vector of input bits."""
    inputs = {}
    offset = 0
    for port in timed.netlist.inputs:
        weights = np.left_shift(np.int64(1), np.arange(port.width, dtype=np.int64))
        inputs[port.name] = np.array([int((bits[offset : offset + port.width] * weights).sum())])
        offset += port.width
    return np.ascontiguousarray(net_values(timed.netlist, inputs)[:, 0])


def simulate(
    timed: TimedGates,
    inputs: Mapping[str, Iterable[int]],
    per_transition: bool = False,
    net_weights: np.ndarray | None = None,
) -> SimResult:
    """Simulate the N transitions between N + 1 input vectors (integers per input port, two's complement bits).

    `per_transition` adds the toggles of every net in every transition (N × nets,
    int32). `net_weights` (nets, or 2 × nets for rising and falling changes) adds
    per transition Σ_net toggles × weight, e.g. the energy of each transition.
    """
    bits = input_bit_matrix(timed, inputs)
    rise_weight, fall_weight = _weights(timed, net_weights)
    run = _run(timed, bits, rise_weight, fall_weight, per_transition, record=False)
    toggles, settled, last_output, last_any, weighted, events, matrix = run[:7]
    return SimResult(
        toggles=toggles,
        settled_changes=settled,
        sensitized_delay_steps=last_output,
        settle_steps=last_any,
        events=int(events),
        resolution_s=timed.resolution_s,
        toggles_per_transition=matrix if per_transition else None,
        weighted_toggles=weighted if net_weights is not None else None,
    )


def _weights(timed: TimedGates, net_weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    if net_weights is None:
        zero = np.zeros(timed.net_count)
        return zero, zero
    weights = np.asarray(net_weights, dtype=np.float64)
    if weights.shape == (timed.net_count,):
        return weights, weights
    if weights.shape == (2, timed.net_count):
        return np.ascontiguousarray(weights[0]), np.ascontiguousarray(weights[1])
    raise SimulationError(f"net_weights must have shape ({timed.net_count},) or (2, {timed.net_count}), got {weights.shape}")


def _run(timed, bits, rise_weight, fall_weight, per_transition, record, log_capacity=0):
    """Call the kernel from the settled state of the first vector."""
    starts, gates = timed.fanout
    is_output = np.zeros(timed.net_count, dtype=np.bool_)
    is_output[timed.output_nets] = True
    inputs = np.where(timed.gate_inputs < 0, CONST0, timed.gate_inputs).astype(np.int32)
    largest = int(max(timed.rise_steps.max(initial=1), timed.fall_steps.max(initial=1)))
    wheel = 1 << int(largest).bit_length()
    return run_transitions(
        np.ascontiguousarray(inputs),
        timed.gate_table,
        timed.gate_output,
        timed.rise_steps,
        timed.fall_steps,
        starts,
        gates,
        is_output,
        timed.input_nets,
        bits,
        settled_values(timed, bits[0]),
        wheel,
        rise_weight,
        fall_weight,
        per_transition,
        record,
        log_capacity,
    )


def write_vcd(
    timed: TimedGates,
    inputs: Mapping[str, Iterable[int]],
    path: str | Path,
    transitions: Iterable[int] | None = None,
    period_steps: int | None = None,
) -> Path:
    """Write a VCD of the chosen transitions (all by default), every net as a 1-bit wire.

    Vector i is applied at time i × `period_steps` (default: the settling bound
    plus one step), so transition i runs from (i + 1) × period. Between chosen
    transitions that are not consecutive the nets jump to the next start state at
    that vector's time, as if it had settled instantly.
    """
    bits = input_bit_matrix(timed, inputs)
    count = len(bits) - 1
    chosen = np.unique(np.fromiter(range(count) if transitions is None else transitions, dtype=np.int64))
    if len(chosen) == 0 or chosen[0] < 0 or chosen[-1] >= count:
        raise SimulationError(f"transitions must be a non-empty set of indices from 0 to {count - 1}")
    period = timed.settle_bound_steps + 1 if period_steps is None else int(period_steps)
    if period <= timed.settle_bound_steps:
        raise SimulationError(f"period_steps {period} is not longer than the settling bound {timed.settle_bound_steps}")
    pairs = np.stack([bits[chosen], bits[chosen + 1]], axis=1)  # each transition alone, from its own start
    unit = timescale_unit(timed.resolution_s)
    path = Path(path)
    with path.open("w") as out:
        ids = _write_header(out, timed, unit)
        start = settled_values(timed, bits[chosen[0]])
        out.write(f"#{chosen[0] * period}\n$dumpvars\n")
        out.writelines(f"{start[n]}{ids[n]}\n" for n in range(2, timed.net_count))
        out.write("$end\n")
        for position, transition in enumerate(chosen):
            state = settled_values(timed, bits[transition])
            jumps = np.flatnonzero(state[2:] != start[2:]) + 2
            if len(jumps):
                out.write(f"#{transition * period}\n")
                out.writelines(f"{state[n]}{ids[n]}\n" for n in jumps)
            start = _write_transition(out, timed, pairs[position], (transition + 1) * period, ids, state)
    return path


def _write_transition(out, timed, pair, offset, ids, state) -> np.ndarray:
    """Simulate one transition with its log and write its changes from time `offset`; returns the end state."""
    zero = np.zeros(timed.net_count)
    capacity = 4 * timed.net_count
    while True:
        run = _run(timed, pair, zero, zero, False, record=True, log_capacity=capacity)
        log, logged = run[7], int(run[8])
        if logged <= capacity:
            break
        capacity = logged
    state = state.copy()
    time = -1
    for _, step, net in log[:logged]:
        if step != time:
            time = step
            out.write(f"#{offset + step}\n")
        state[net] ^= 1
        out.write(f"{state[net]}{ids[net]}\n")
    return state


def _write_header(out, timed, unit: str) -> list[str]:
    """VCD header with one wire per net; returns the identifier code of each net."""
    ids = [_identifier(n) for n in range(timed.net_count)]
    out.write("$date gatedse $end\n$version gatedse timing simulator $end\n")
    out.write(f"$timescale {unit} $end\n$scope module {timed.netlist.name} $end\n")
    for net, name in enumerate(timed.netlist.nets):
        if name not in CONST_NAMES:
            out.write(f"$var wire 1 {ids[net]} {_reference(name)} $end\n")
    out.write("$upscope $end\n$enddefinitions $end\n")
    return ids


def _identifier(index: int) -> str:
    """Short VCD identifier code from printable ASCII 33..126."""
    code = ""
    index += 1
    while index:
        index, digit = divmod(index - 1, 94)
        code += chr(33 + digit)
    return code


def _reference(name: str) -> str:
    """A net name as a VCD reference: escaped names lose the backslash, bit selects are split off."""
    if name.startswith("\\"):
        return name[1:].strip()
    if name.endswith("]") and "[" in name:
        base, _, bit = name.partition("[")
        return f"{base} [{bit}"
    return name

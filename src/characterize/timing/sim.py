"""Event-driven, glitch-accurate timing simulation of input transitions through a timed netlist.

Each of N transitions, vector i -> vector i + 1, starts from the circuit settled at
vector i: the input bits that change switch at time 0, and gates react until no
update is pending. With arc delays (one per input pin and output edge, as an SDF
IOPATH gives them) a gate follows the path-delay semantics of Icarus Verilog's
`specify` paths; with one rise and one fall delay per gate, the inertial
semantics of its `assign #(rise, fall)` (DESIGN.md, "Timing semantics of sim").
Transitions are independent of any clock: each runs to completion before the
next. The event loop is one compiled kernel over all transitions
(`characterize.timing.kernel`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from characterize.errors import SimulationError
from characterize.netlist.ir import Port, port_range
from characterize.netlist.logic import WIDE_BITS, net_values, port_bits
from characterize.timing.delays import TimedGates
from characterize.timing.kernel import KernelCircuit, chain_order, row_dot, run_transitions

VCD_CHUNK = 1000  # transitions simulated per logged kernel call when laying out a VCD or a timeline
MERGE_FRACTION = 0.9  # equal transitions are merged when at most this share of them is distinct


@dataclass(frozen=True, eq=False)
class SimResult:
    """Activity of N transitions.

    `toggles` counts every value change per net (glitches included, input bits
    too); `settled_changes` counts the transitions in which a net's settled value
    changed. `sensitized_delay_steps` is per transition the time of the last event
    on an output-port net (0 when no output changes) and `settle_steps` that of the
    last event on any net, both in steps of `resolution_s`. `events` counts gate
    output changes. `weighted_toggles` (per transition, Σ toggles × net weight) is
    present when asked for, and so are the toggles of every net in every
    transition: `toggles_per_transition` (N × nets) gives them, `run_toggles`
    holds them once per distinct transition (row `run_position[k]` for transition k).
    """

    toggles: np.ndarray
    settled_changes: np.ndarray
    sensitized_delay_steps: np.ndarray
    settle_steps: np.ndarray
    events: int
    resolution_s: float
    weighted_toggles: np.ndarray | None = None
    run_toggles: np.ndarray | None = None
    run_position: np.ndarray | None = None

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

    @property
    def toggles_per_transition(self) -> np.ndarray | None:
        return None if self.run_toggles is None else self.run_toggles[self.run_position]

    def priced(self, net_energy: np.ndarray) -> np.ndarray:
        """Per transition Σ_net toggles × `net_energy` (per net), from the kept toggles of every transition."""
        if self.run_toggles is None:
            raise SimulationError("pricing transitions needs the simulation's per_transition toggles")
        return row_dot(self.run_toggles, np.asarray(net_energy, dtype=np.float64))[self.run_position]


def input_bit_matrix(timed: TimedGates, inputs: Mapping[str, Iterable[int]]) -> np.ndarray:
    """Input-port bits per vector (vectors × `timed.input_nets`), checked against the netlist's input ports."""
    return port_bit_matrix(timed, checked_inputs(timed, inputs))


def checked_inputs(timed: TimedGates, inputs: Mapping[str, Iterable[int]]) -> dict[str, np.ndarray]:
    """The values of every input port as arrays, checked: exactly the ports, one length (at least 2), in range."""
    ports = timed.netlist.inputs
    if not ports:
        raise SimulationError(f"netlist {timed.netlist.name} has no input ports to drive")
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
    integral = all(np.issubdtype(v.dtype, np.integer) or _python_ints(v) for v in columns.values())
    if len(lengths) != 1 or min(lengths) < 2 or not integral:
        raise SimulationError("inputs must be 1-D integer arrays of one length, at least 2 vectors (1 transition)")
    check_input_range(ports, columns)
    return columns


def port_bit_matrix(timed: TimedGates, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """Bits per vector (vectors × `timed.input_nets`) of checked input values."""
    ports = timed.netlist.inputs
    return np.ascontiguousarray(np.concatenate([port_bits(p, columns[p.name]).T for p in ports], axis=1))


def distinct_vectors(columns: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The distinct vectors of integer columns (each a non-empty array, one per port) and, per vector, the index
    of its distinct one; vectors are compared by value (columns of Python ints as they are)."""
    names = list(columns)
    arrays = [np.asarray(columns[name]) for name in names]
    count = len(arrays[0])
    if any(a.dtype == object for a in arrays):
        index: dict[tuple, int] = {}
        ids = np.array([index.setdefault(row, len(index)) for row in zip(*(a.tolist() for a in arrays))],
                       dtype=np.int64)
    else:
        key, span = np.zeros(count, dtype=np.int64), 1
        for values in arrays:
            low = int(values.min())
            width = int(values.max()) - low + 1
            if span * width >= 1 << 62:  # renumber the keys so far, which then span at most `count`
                _, key, _ = unique_keys(key, span)
                span = int(key.max()) + 1
            key = key * width + (values.astype(np.int64) - low)
            span *= width
        _, ids, _ = unique_keys(key, span)
    first = np.empty(int(ids.max()) + 1, dtype=np.int64)
    first[ids] = np.arange(count)  # any occurrence of a vector will do: they are equal
    return {name: a[first] for name, a in zip(names, arrays)}, ids


def unique_keys(keys: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.unique(keys, return_inverse=True, return_counts=True)` of int64 keys in [0, span), by counting (one
    pass, no sort) when the span is small."""
    if span <= max(4 * len(keys), 1 << 16):
        counts = np.bincount(keys, minlength=span)
        unique = np.flatnonzero(counts)
        rank = np.zeros(span, dtype=np.int64)
        rank[unique] = np.arange(len(unique))
        return unique, rank[keys], counts[unique]
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return unique, inverse.reshape(-1), counts


def _python_ints(values: np.ndarray) -> bool:
    """An object array of Python ints, as wide ports' values come."""
    return values.dtype == object and all(isinstance(v, int) for v in values.tolist())


def check_input_range(ports: Iterable[Port], columns: Mapping[str, np.ndarray], source: str | Path | None = None) -> None:
    """Reject a value its port cannot hold (its bits would silently wrap).

    `source` names the vectors file, whose row of vector i is i + 2 (after the header).
    """
    for port in ports:
        low, high = port_range(port)
        values = np.asarray(columns[port.name])
        bad = np.flatnonzero((values < low) | (values > high))
        if len(bad):
            index = int(bad[0])
            where = f"{source}:{index + 2}" if source is not None else f"inputs: vector {index}"
            raise SimulationError(out_of_range(where, port, int(values[index])))


def out_of_range(where: str, port: Port, value: int) -> str:
    """The message for a value its port cannot hold, at `where` (file:row, or the vector)."""
    low, high = port_range(port)
    return f"{where}: port {port.name} = {value} is outside its range [{low}, {high}] ({port.width} bits, signed or unsigned)"


def simulate(
    timed: TimedGates,
    inputs: Mapping[str, Iterable[int]],
    per_transition: bool = False,
    net_weights: np.ndarray | None = None,
    threads: int | None = 1,
    matrix_limit: int | None = None,
) -> SimResult:
    """Simulate the N transitions between N + 1 input vectors (integers per input port, two's complement bits).

    `per_transition` adds the toggles of every net in every transition (int32),
    kept once per distinct transition, unless their count exceeds `matrix_limit`.
    `net_weights` (nets, or 2 × nets for rising and falling changes) adds
    per transition Σ_net toggles × weight, e.g. the energy of each transition.
    `threads` > 1 runs chunks of the transitions on that many threads (None: as many
    as pay off, `kernel.automatic_threads`), with the same results.
    """
    columns = checked_inputs(timed, inputs)
    rise_weight, fall_weight = _weights(timed, net_weights)
    distinct, ids = distinct_vectors({p.name: _unsigned(p, columns[p.name]) for p in timed.netlist.inputs})
    vectors = port_bit_matrix(timed, distinct)
    first, second, multiplicity, position = _plan(ids, len(vectors))
    if matrix_limit is not None and len(first) * timed.net_count > matrix_limit:
        per_transition = False
    circuit = KernelCircuit.from_timed(timed)
    run = run_transitions(
        circuit,
        circuit.initial_state(),
        vectors,
        first,
        second,
        multiplicity=multiplicity,
        rise_weight=rise_weight,
        fall_weight=fall_weight,
        per_transition=per_transition,
        threads=threads,
    )
    return SimResult(
        toggles=run.toggles,
        settled_changes=run.settled_changes,
        sensitized_delay_steps=run.last_output_event_steps[position],
        settle_steps=run.last_event_steps[position],
        events=run.events,
        resolution_s=timed.resolution_s,
        weighted_toggles=run.weighted_toggles[position] if net_weights is not None else None,
        run_toggles=run.toggles_per_transition,
        run_position=position if per_transition else None,
    )


def _unsigned(port: Port, values: np.ndarray) -> np.ndarray:
    """Values as the unsigned integers of their bits, so that vectors with equal bits compare equal."""
    if values.dtype == object or port.width > WIDE_BITS:
        return values
    return values.astype(np.int64) & ((1 << port.width) - 1)


def _plan(ids: np.ndarray, vectors: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Transitions to run (first, second vector, multiplicity) and, per given transition, its position among them.

    Transitions are independent, so equal ones are simulated once when that saves
    at least a tenth of the work, chained so that few need a jump.
    """
    count = len(ids) - 1
    pairs = ids[:-1] * vectors + ids[1:]
    unique, inverse, multiplicity = unique_keys(pairs, vectors * vectors)
    if len(unique) > MERGE_FRACTION * count:
        return ids[:-1], ids[1:], np.ones(count, dtype=np.int64), np.arange(count)
    first, second = unique // vectors, unique % vectors
    order = chain_order(first, second, vectors)
    rank = np.empty(len(unique), dtype=np.int64)
    rank[order] = np.arange(len(unique))
    return first[order], second[order], multiplicity[order].astype(np.int64), rank[inverse]


def _weights(timed: TimedGates, net_weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    if net_weights is None:
        zero = np.zeros(timed.net_count)
        return zero, zero
    weights = np.asarray(net_weights, dtype=np.float64)
    if weights.shape == (timed.net_count,):
        return weights, weights
    if weights.shape == (2, timed.net_count):
        return np.ascontiguousarray(weights[0]), np.ascontiguousarray(weights[1])
    raise SimulationError(
        f"net_weights must have shape ({timed.net_count},) or (2, {timed.net_count}), got {weights.shape}"
    )


@dataclass(frozen=True, eq=False)
class Timeline:
    """Activity of every net when vector i is applied at i × `period_steps` (the layout of `vcd.write_vcd`).

    Over `duration_steps` = (N + 1) periods, vector 0 settled from the start: `toggles`
    per net, and `high_steps`, the steps each net spends at 1.
    """

    toggles: np.ndarray
    high_steps: np.ndarray
    period_steps: int
    duration_steps: int


def timeline(timed: TimedGates, inputs: Mapping[str, Iterable[int]], period_steps: int | None = None) -> Timeline:
    """Toggles and time at 1 of every net over the N transitions laid out one per period (default as `vcd.write_vcd`)."""
    bits = input_bit_matrix(timed, inputs)
    period = timed.settle_bound_steps + 1 if period_steps is None else int(period_steps)
    if period <= timed.settle_bound_steps:
        raise SimulationError(f"period_steps {period} is not longer than the settling bound {timed.settle_bound_steps}")
    count = len(bits) - 1
    circuit = KernelCircuit.from_timed(timed)
    state = circuit.initial_state()
    circuit.settle(state, bits[0])
    toggles = np.zeros(timed.net_count, dtype=np.int64)
    # Period i holds the settled value of vector i, less Σ ±(step of each change) of the transition into it.
    settled = net_values(timed.netlist, {name: np.asarray(v) for name, v in inputs.items()})
    high = settled.sum(axis=1, dtype=np.int64) * period
    for chunk in np.array_split(np.arange(count), -(-count // VCD_CHUNK)):
        start = state.values.astype(np.int64)
        log = run_transitions(circuit, state, bits, chunk, chunk + 1, record=True).log
        nets, steps = log[:, 2], log[:, 1]
        order = np.argsort(nets, kind="stable")  # the log is in time order, so each net's changes stay in order
        counts = np.bincount(nets, minlength=timed.net_count)
        rank = np.empty(len(log), dtype=np.int64)
        rank[order] = np.arange(len(log)) - np.repeat(np.cumsum(counts) - counts, counts)
        after = start[nets] ^ ((rank + 1) & 1)
        high -= np.bincount(nets, weights=(2 * after - 1) * steps, minlength=timed.net_count).astype(np.int64)
        toggles += counts
    return Timeline(toggles, high, period, (count + 1) * period)

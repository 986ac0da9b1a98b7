"""The timing simulator's event loop behind named structures: the circuit it runs, its state, and what a run returns.

The compiled loop (`characterize.timing._kernel`) takes plain arrays, as numba
needs; this module builds them once from a `TimedGates` (`KernelCircuit`), keeps
the mutable simulation state apart (`CircuitState`), and hands results back as a
`KernelRun`. The wrappers only pass arrays on, so a call costs what the loop costs.

Transitions are independent once each starts from its first vector's settled
state, which the loop reaches by a jump (zero-delay settling) wherever a
transition does not follow the one before. So `run_transitions` may cut the
transitions into consecutive chunks and run them on several threads at once
(the loop releases the GIL), each chunk from its own copy of the state: every
count, delay and energy equals the serial run's, transition for transition.
Threads need numba's just-in-time loop; left to choose (`threads=None`), a run
takes every core, but where the loops are built ahead of time
(`characterize.compiled`) and numba is not loaded yet, a run shorter than
`THREADED_MIN_WORK` takes one thread of the built loop, which finishes before
numba would have started (about 0.5 s of CPU).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from characterize import compiled
from characterize.netlist.ir import CONST0, CONST1
from characterize.timing.delays import TimedGates

CHUNKS_PER_THREAD = 4  # more chunks than threads, so that a thread slowed by other work delays the run less
MIN_CHUNK = 2_000  # transitions per chunk at least: below, a thread's setup costs more than it saves
THREADED_MIN_WORK = 20_000_000  # transitions x gates (about 0.7 s of one thread) for numba's start-up to pay off


def _jit_loops():
    """The just-in-time loops (numba), imported on first need."""
    from characterize.timing import _kernel

    return _kernel


_run_transitions = compiled.loop("run_transitions", _jit_loops)
_settle_state = compiled.loop("settle_state", _jit_loops)
chain_order = compiled.loop("chain_order", _jit_loops)  # see _kernel.chain_order
row_dot = compiled.loop("row_dot", _jit_loops)  # see _kernel.row_dot


def available_threads() -> int:
    """Threads the kernel uses by default: NUMBA_NUM_THREADS when set, else the cores this process may run on."""
    setting = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def automatic_threads(work: int) -> int:
    """Threads for a run of `work` transitions x gates: `available_threads()`, or 1 where one thread of the loop
    built ahead of time ends before numba would have started."""
    if work < THREADED_MIN_WORK and "numba" not in sys.modules and compiled.is_built("run_transitions"):
        return 1
    return available_threads()


@dataclass(frozen=True, eq=False)
class KernelCircuit:
    """A `TimedGates` as the kernel reads it.

    Fanout entry f (entries of net n from `fanout_start[n]` to `fanout_start[n + 1]`)
    feeds gate `fanout_gate[f]` on the input pins set in the bit mask
    `fanout_pins[f]`; `is_output` flags output-port nets.
    """

    timed: TimedGates
    fanout_start: np.ndarray
    fanout_gate: np.ndarray
    fanout_pins: np.ndarray
    is_output: np.ndarray

    @classmethod
    def from_timed(cls, timed: TimedGates) -> KernelCircuit:
        starts, gates, pins = timed.fanout
        is_output = np.zeros(timed.net_count, dtype=np.bool_)
        is_output[timed.output_nets] = True
        return cls(timed, starts, gates, pins, is_output)

    def initial_state(self) -> CircuitState:
        """Net values all 0 but the constant 1, with the matching gate input combinations: a start for a jump."""
        timed = self.timed
        values = np.zeros(timed.net_count, dtype=np.uint8)
        values[CONST1] = 1
        inputs = np.where(timed.gate_inputs >= 0, timed.gate_inputs, CONST0)
        pin_bits = np.left_shift(1, np.arange(timed.gate_inputs.shape[1], dtype=np.int64))
        return CircuitState(values, (values[inputs] * pin_bits).sum(axis=1).astype(np.int64))

    def settle(self, state: CircuitState, bits: np.ndarray) -> None:
        """Move `state` (in place) to the settled state of one vector of input bits, without timing."""
        timed = self.timed
        _settle_state(
            bits,
            timed.input_nets,
            state.values,
            state.gate_index,
            timed.gate_table,
            timed.gate_output,
            self.fanout_start,
            self.fanout_gate,
            self.fanout_pins,
            False,
            0,
            np.empty((0, 3), dtype=np.int64),
            0,
        )


@dataclass(eq=False)
class CircuitState:
    """Value of every net (uint8) and every gate's present input combination (int64, bit k for input k)."""

    values: np.ndarray
    gate_index: np.ndarray

    def copy(self) -> CircuitState:
        return CircuitState(self.values.copy(), self.gate_index.copy())


@dataclass(frozen=True, eq=False)
class KernelRun:
    """What one run of transitions returns; delays in time steps, counts times each transition's multiplicity.

    `toggles` and `settled_changes` are per net; `last_output_event_steps`,
    `last_event_steps` and `weighted_toggles` per run transition; `events` counts
    gate output changes. `toggles_per_transition` (transitions × nets) is there
    when asked for, `log` ((transition, time, net) per value change, time -1 for
    the changes of a jump to a transition's start) when recorded.
    """

    toggles: np.ndarray
    settled_changes: np.ndarray
    last_output_event_steps: np.ndarray
    last_event_steps: np.ndarray
    weighted_toggles: np.ndarray
    events: int
    toggles_per_transition: np.ndarray | None
    log: np.ndarray | None


def run_transitions(
    circuit: KernelCircuit,
    state: CircuitState,
    vectors: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    *,
    multiplicity: np.ndarray | None = None,
    rise_weight: np.ndarray | None = None,
    fall_weight: np.ndarray | None = None,
    per_transition: bool = False,
    record: bool = False,
    threads: int | None = 1,
) -> KernelRun:
    """Simulate transitions vectors[first[k]] -> vectors[second[k]] from `state`, which is updated in place.

    A transition that does not start where the one before ended first jumps to
    the settled state of its first vector. Each stands for `multiplicity[k]` equal
    ones (default 1); `rise_weight` and `fall_weight` (per net) give each rising
    and falling change its weight in `weighted_toggles`. With `threads` > 1 the
    transitions run in chunks on that many threads (None: `automatic_threads`), with the serial run's results
    (a recorded log keeps one thread: its jumps are those of the serial order).
    """
    count = len(first)
    multiplicity = np.ones(count, dtype=np.int64) if multiplicity is None else multiplicity
    zero = None if rise_weight is not None and fall_weight is not None else np.zeros(circuit.timed.net_count)
    rise_weight = zero if rise_weight is None else rise_weight
    fall_weight = zero if fall_weight is None else fall_weight
    threads = automatic_threads(count * len(circuit.timed.gate_output)) if threads is None else threads
    chunks = min(threads * CHUNKS_PER_THREAD, count // MIN_CHUNK)
    if record or threads <= 1 or chunks < 2:
        return _run(_run_transitions, circuit, state, vectors, first, second, multiplicity, rise_weight, fall_weight,
                    per_transition, record)
    bounds = np.linspace(0, count, chunks + 1).astype(np.int64)
    states = [state.copy() for _ in range(chunks)]
    loop = _jit_loops().run_transitions  # the built loop holds the GIL

    def run_chunk(c: int) -> KernelRun:
        part = slice(bounds[c], bounds[c + 1])
        return _run(loop, circuit, states[c], vectors, first[part], second[part], multiplicity[part], rise_weight,
                    fall_weight, per_transition, False)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        runs = list(pool.map(run_chunk, range(chunks)))
    state.values[:], state.gate_index[:] = states[-1].values, states[-1].gate_index
    return KernelRun(
        toggles=np.sum([run.toggles for run in runs], axis=0),
        settled_changes=np.sum([run.settled_changes for run in runs], axis=0),
        last_output_event_steps=np.concatenate([run.last_output_event_steps for run in runs]),
        last_event_steps=np.concatenate([run.last_event_steps for run in runs]),
        weighted_toggles=np.concatenate([run.weighted_toggles for run in runs]),
        events=sum(run.events for run in runs),
        toggles_per_transition=np.concatenate([run.toggles_per_transition for run in runs]) if per_transition else None,
        log=None,
    )


def _run(loop, circuit: KernelCircuit, state: CircuitState, vectors: np.ndarray, first: np.ndarray,
         second: np.ndarray, multiplicity: np.ndarray, rise_weight: np.ndarray, fall_weight: np.ndarray,
         per_transition: bool, record: bool) -> KernelRun:
    """One call of the compiled `loop` (retried with a larger log when the recorded one overflowed)."""
    count = len(first)
    capacity = circuit.timed.net_count * count if record else 0
    start = state.copy() if record else None
    timed = circuit.timed
    no_arcs = np.zeros((0, 0, 2), dtype=np.int64)
    while True:
        out = loop(
            state.gate_index,
            timed.gate_table,
            timed.gate_output,
            timed.gate_inputs,
            timed.rise_steps,
            timed.fall_steps,
            timed.arc_rise_steps if timed.per_arc else no_arcs,
            timed.arc_fall_steps if timed.per_arc else no_arcs,
            timed.per_arc,
            circuit.fanout_start,
            circuit.fanout_gate,
            circuit.fanout_pins,
            circuit.is_output,
            timed.input_nets,
            vectors,
            first,
            second,
            multiplicity,
            state.values,
            rise_weight,
            fall_weight,
            per_transition,
            record,
            capacity,
        )
        toggles, settled, last_output, last_any, weighted, events, matrix, log, logged = out
        if logged <= capacity:
            break
        state.values[:], state.gate_index[:] = start.values, start.gate_index
        capacity = int(logged)
    return KernelRun(
        toggles=toggles,
        settled_changes=settled,
        last_output_event_steps=last_output,
        last_event_steps=last_any,
        weighted_toggles=weighted,
        events=int(events),
        toggles_per_transition=matrix if per_transition else None,
        log=_in_time_order(log[:logged]) if record else None,
    )


def _in_time_order(log: np.ndarray) -> np.ndarray:
    """The kernel's log (transition, time, net) sorted by transition, then time; equal times keep their order."""
    return log[np.lexsort((log[:, 1], log[:, 0]))]

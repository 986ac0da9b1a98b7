"""The compiled timing simulator (numba): a sequence of transitions in one call, each as waveforms.

Transition k goes from input vector `first[k]` to `second[k]`. When it does not
start where the previous one ended, the circuit first moves to the settled state
of `first[k]` without timing (a jump), so any set of transitions can be run in
any order, each from its own settled start.

A combinational transition needs no event queue: gates are in topological
order, so each gate whose inputs change is visited once, after all its input
nets' waveforms are known, and computes its output net's whole waveform, the
sorted times at which the net changes (a net changes at most once per time
step). The inputs' change times are merged; at each, the gate's input
combination (an integer, updated by XOR-ing pin bits, so that evaluating the
gate is one table shift) gives the function value after all changes of that
step, and the timing semantics of DESIGN.md turn these values into output
changes: with gate delays (inertial, `assign #(rise, fall)`) one pending update
at most, cancelled when the function returns to the output's value; with arc
delays (path delays) a sample per change of the function, never cancelled,
which sets the output to the function's value just before the sample's time.
Waveforms of one transition live in one flat buffer; gates still to visit are
bits of a bitmap, scanned in gate order.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _trailing_zeros(typingctx, word):
    """Index of the lowest set bit of a non-zero uint64 (LLVM cttz)."""

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        cttz = builder.module.declare_intrinsic("llvm.cttz", [i64], ir.FunctionType(i64, [i64, ir.IntType(1)]))
        return builder.call(cttz, [args[0], ir.Constant(ir.IntType(1), 1)])

    return types.uint64(types.uint64), codegen


@njit(cache=True, nogil=True)
def run_transitions(
    gate_index,
    gate_table,
    gate_output,
    gate_inputs,
    rise,
    fall,
    arc_rise,
    arc_fall,
    per_arc,
    fanout_start,
    fanout_gate,
    fanout_pins,
    is_output,
    input_nets,
    vectors,
    first,
    second,
    multiplicity,
    values,
    rise_weight,
    fall_weight,
    per_transition,
    record,
    log_capacity,
):
    """Simulate transitions vectors[first[k]] -> vectors[second[k]], each standing for `multiplicity[k]` equal ones.

    `values` (per net) and `gate_index` (per gate, its input combination, bit j for
    input pin j, the nets of `gate_inputs`) are a consistent settled state, updated in
    place; fanout entry f feeds gate `fanout_gate[f]` on the input pins set in
    `fanout_pins[f]`. Delays in steps: with `per_arc`, `arc_rise` and `arc_fall`
    (gates × pins × input edge, rise 0 and fall 1) and the path-delay semantics,
    else `rise` and `fall` per gate and the inertial one. Returns per-net toggle and
    settled-change counts (times multiplicity), per transition the last output-port
    event, the last event on any net and the weighted toggle sum, the number of gate
    output events (times multiplicity), the per-transition toggle matrix (1×1 unless
    `per_transition`), and, when `record`, a log of (transition, time, net) for every
    value change, transition by transition, a transition's changes net by net in the
    order the nets settle (time -1 for the changes of a jump, first), with its length
    (which may exceed `log_capacity`: the caller then retries with room for all).
    """
    n_gates = gate_output.shape[0]
    n_nets = values.shape[0]
    n_inputs = input_nets.shape[0]
    n_transitions = first.shape[0]

    to_visit = np.zeros((n_gates + 63) // 64, np.uint64)
    wave_start = np.zeros(n_nets, np.int64)
    wave_count = np.zeros(n_nets, np.int64)
    changed = np.empty(n_nets, np.int32)
    capacity = 4 * n_nets + 64  # of wave and the per-gate scratch arrays; kept above twice wave's use
    wave = np.empty(capacity, np.int64)
    step_time = np.empty(capacity, np.int64)
    step_pins = np.empty(capacity, np.int64)
    function_times = np.empty(capacity, np.int64)
    samples = np.empty(capacity, np.int64)
    changed_pins = np.zeros(n_gates, np.int64)  # per gate to visit: its input pins that change,
    input_changes = np.zeros(n_gates, np.int64)  # how many changes its input nets have in all,
    input_time = np.zeros(n_gates, np.int64)  # and the time of one (of the only one, when there is one)

    toggles = np.zeros(n_nets, np.int64)
    settled_changes = np.zeros(n_nets, np.int64)
    last_output_event = np.zeros(n_transitions, np.int64)
    last_event = np.zeros(n_transitions, np.int64)
    weighted = np.zeros(n_transitions, np.float64)
    matrix = np.zeros((n_transitions if per_transition else 1, n_nets if per_transition else 1), np.int32)
    log = np.empty((log_capacity, 3), np.int64)
    logged = 0
    events = 0
    current = -1

    for i in range(n_transitions):
        if first[i] != current:
            logged = settle_state(
                vectors[first[i]],
                input_nets,
                values,
                gate_index,
                gate_table,
                gate_output,
                fanout_start,
                fanout_gate,
                fanout_pins,
                record,
                i,
                log,
                logged,
            )
        current = second[i]
        count = multiplicity[i]
        n_changed = 0
        used = 0
        for p in range(n_inputs):
            net = input_nets[p]
            if values[net] != vectors[current, p] and wave_count[net] == 0:
                wave[used] = 0
                wave_start[net] = used
                wave_count[net] = 1
                used += 1
                changed[n_changed] = net
                n_changed += 1
                for f in range(fanout_start[net], fanout_start[net + 1]):
                    g = fanout_gate[f]
                    changed_pins[g] |= fanout_pins[f]
                    input_changes[g] += 1
                    input_time[g] = 0
                    to_visit[g >> 6] |= np.uint64(1) << np.uint64(g & 63)
        w = 0
        while w < to_visit.shape[0]:
            word = to_visit[w]
            if word == 0:
                w += 1
                continue
            to_visit[w] = word & (word - np.uint64(1))
            g = (w << 6) + np.int64(_trailing_zeros(word))
            if 2 * used >= capacity:  # a gate makes at most as many changes as its inputs have, all in wave[:used]
                capacity *= 2
                grown = np.empty(capacity, np.int64)
                grown[:used] = wave[:used]
                wave = grown
                step_time = np.empty(capacity, np.int64)
                step_pins = np.empty(capacity, np.int64)
                function_times = np.empty(capacity, np.int64)
                samples = np.empty(capacity, np.int64)
            pins = changed_pins[g]
            changed_pins[g] = 0
            table = gate_table[g]
            index = gate_index[g]
            value = (table >> index) & 1
            begin = used
            n_steps = 0
            if input_changes[g] == 1:  # the common case, where both semantics give one change at most
                index ^= pins
                new = (table >> index) & 1
                if new != value:
                    if per_arc:
                        wave[used] = input_time[g] + arc_delay(arc_rise, arc_fall, g, pins, index, new)
                    else:
                        wave[used] = input_time[g] + (rise[g] if new else fall[g])
                    used += 1
            else:
                # the changes of the gate's inputs as (time, pins changed then), in time order
                while pins:
                    j = np.int64(_trailing_zeros(np.uint64(pins)))
                    pins &= pins - 1
                    bit = np.int64(1) << j
                    net = gate_inputs[g, j]
                    for k in range(wave_start[net], wave_start[net] + wave_count[net]):
                        t = wave[k]
                        e = n_steps
                        while e > 0 and step_time[e - 1] > t:
                            e -= 1
                        if e > 0 and step_time[e - 1] == t:
                            step_pins[e - 1] |= bit
                            continue
                        for m in range(n_steps, e, -1):
                            step_time[m] = step_time[m - 1]
                            step_pins[m] = step_pins[m - 1]
                        step_time[e] = t
                        step_pins[e] = bit
                        n_steps += 1
            input_changes[g] = 0
            function = value  # arc delays: the function value; gate delays: the output's
            n_function = 0
            n_samples = 0
            due = np.int64(-1)  # gate delays: the pending update's time
            for e in range(n_steps):
                t = step_time[e]
                index ^= step_pins[e]
                new = (table >> index) & 1
                if per_arc:
                    if new == function:
                        continue
                    function = new
                    function_times[n_function] = t
                    n_function += 1
                    sample = t + arc_delay(arc_rise, arc_fall, g, step_pins[e], index, new)
                    k = n_samples
                    while k > 0 and samples[k - 1] > sample:
                        samples[k] = samples[k - 1]
                        k -= 1
                    samples[k] = sample
                    n_samples += 1
                else:
                    if 0 <= due <= t:
                        function ^= 1
                        wave[used] = due
                        used += 1
                        due = -1
                    if due >= 0:
                        if new == function:
                            due = -1
                    elif new != function:
                        due = t + (rise[g] if new else fall[g])
            if per_arc:
                output = value
                seen = 0
                for k in range(n_samples):
                    sample = samples[k]
                    while seen < n_function and function_times[seen] < sample:
                        seen += 1
                    if (value ^ (seen & 1)) != output:
                        output ^= 1
                        wave[used] = sample
                        used += 1
            elif due >= 0:
                wave[used] = due
                used += 1
            gate_index[g] = index
            if used > begin:
                net = gate_output[g]
                wave_start[net] = begin
                wave_count[net] = used - begin
                events += count * (used - begin)
                changed[n_changed] = net
                n_changed += 1
                for f in range(fanout_start[net], fanout_start[net + 1]):
                    gate = fanout_gate[f]
                    changed_pins[gate] |= fanout_pins[f]
                    input_changes[gate] += used - begin
                    input_time[gate] = wave[begin]
                    to_visit[gate >> 6] |= np.uint64(1) << np.uint64(gate & 63)
        energy = 0.0
        last_out = 0
        last_any = 0
        for c in range(n_changed):
            net = changed[c]
            begin = wave_start[net]
            n = wave_count[net]
            wave_count[net] = 0
            toggles[net] += count * n
            if per_transition:
                matrix[i, net] = n
            value = values[net]
            for k in range(begin, begin + n):
                value ^= 1
                energy += rise_weight[net] if value else fall_weight[net]
                if record:
                    if logged < log_capacity:
                        log[logged, 0] = i
                        log[logged, 1] = wave[k]
                        log[logged, 2] = net
                    logged += 1
            values[net] = value
            if n & 1:
                settled_changes[net] += count
            last = wave[begin + n - 1]
            last_any = max(last_any, last)
            if is_output[net] and last > last_out:
                last_out = last
        last_output_event[i] = last_out
        last_event[i] = last_any
        weighted[i] = energy
    return toggles, settled_changes, last_output_event, last_event, weighted, events, matrix, log, logged


@njit(cache=True, nogil=True)
def arc_delay(arc_rise, arc_fall, g, pins, index, new):
    """Smallest delay of gate g's arcs from the input `pins` (bit mask) that just changed to `index` (steps)."""
    delay = np.int64(-1)
    while pins:
        j = np.int64(_trailing_zeros(np.uint64(pins)))
        pins &= pins - 1
        edge = 1 - ((index >> j) & 1)
        d = arc_rise[g, j, edge] if new else arc_fall[g, j, edge]
        if delay < 0 or d < delay:
            delay = d
    return delay


@njit(cache=True, nogil=True)
def settle_state(
    bits,
    input_nets,
    values,
    gate_index,
    gate_table,
    gate_output,
    fanout_start,
    fanout_gate,
    fanout_pins,
    record,
    transition,
    log,
    logged,
):
    """Move the state to the settled one of input `bits` without timing (gates are in topological order).

    Logs each change as (transition, -1, net) when `record`; returns the log length.
    """
    for k in range(input_nets.shape[0] + gate_output.shape[0]):
        if k < input_nets.shape[0]:
            net = input_nets[k]
            value = bits[k]
        else:
            g = k - input_nets.shape[0]
            net = gate_output[g]
            value = (gate_table[g] >> gate_index[g]) & 1
        if values[net] == value:
            continue
        values[net] = value
        for f in range(fanout_start[net], fanout_start[net + 1]):
            gate_index[fanout_gate[f]] ^= fanout_pins[f]
        if record:
            if logged < log.shape[0]:
                log[logged, 0] = transition
                log[logged, 1] = -1
                log[logged, 2] = net
            logged += 1
    return logged


@njit(cache=True, nogil=True)
def chain_order(first, second, vertices):
    """An order of the transitions (first[k] -> second[k]) in which most start where the previous one ended.

    A greedy walk over the transition graph: follow an unused transition out of the
    vertex reached, and start anew elsewhere only when none is left.
    """
    count = first.shape[0]
    by_start = np.argsort(first, kind="mergesort")
    next_out = np.zeros(vertices + 1, np.int64)
    for k in range(count):
        next_out[first[k] + 1] += 1
    for v in range(vertices):
        next_out[v + 1] += next_out[v]
    end_out = next_out[1:].copy()
    order = np.empty(count, np.int64)
    vertex = first[by_start[0]] if count else 0
    scan = 0
    for position in range(count):
        if next_out[vertex] == end_out[vertex]:
            while next_out[scan] == end_out[scan]:
                scan += 1
            vertex = scan
        k = by_start[next_out[vertex]]
        next_out[vertex] += 1
        order[position] = k
        vertex = second[k]
    return order


@njit(cache=True, nogil=True)
def row_dot(matrix, weights):
    """matrix @ weights for an integer matrix, without numpy's float copy of the whole matrix."""
    out = np.zeros(matrix.shape[0], np.float64)
    for i in range(matrix.shape[0]):
        total = 0.0
        for j in range(matrix.shape[1]):
            total += matrix[i, j] * weights[j]
        out[i] = total
    return out


def _array(dtype, dimensions: int):
    """The numba type of a C-contiguous array."""
    return types.Array(dtype, dimensions, "C")


_I8, _I4, _U1, _F8, _B1 = (_array(d, 1) for d in (types.int64, types.int32, types.uint8, types.float64, types.boolean))

# The loops of a `dse simulate` run and the argument types its callers pass, built ahead of time by
# characterize.build_loops (see characterize.compiled).
AHEAD_OF_TIME = {
    "run_transitions": (run_transitions, types.Tuple((_I8, _I8, _I8, _I8, _F8, types.int64, _array(types.int32, 2),
                                                      _array(types.int64, 2), types.int64))(
        _I8, _I8, _I4, _array(types.int32, 2), _I8, _I8, _array(types.int64, 3), _array(types.int64, 3),
        types.boolean, _I8, _I4, _I8, _B1, _I4, _array(types.uint8, 2), _I8, _I8, _I8, _U1, _F8, _F8,
        types.boolean, types.boolean, types.int64)),
    "settle_state": (settle_state, types.int64(_U1, _I4, _U1, _I8, _I8, _I4, _I8, _I4, _I8, types.boolean,
                                               types.int64, _array(types.int64, 2), types.int64)),
    "chain_order": (chain_order, _I8(_I8, _I8, types.int64)),
    "row_dot": (row_dot, _F8(_array(types.int32, 2), _F8)),
}

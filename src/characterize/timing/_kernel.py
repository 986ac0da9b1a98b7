"""The compiled event loop of the timing simulator (numba), over a sequence of transitions in one call.

Transition k goes from input vector `first[k]` to `second[k]`. When it does not
start where the previous one ended, the circuit first moves to the settled state
of `first[k]` without timing (a jump), so any set of transitions can be run in
any order, each from its own settled start.

Each gate keeps at most one pending update: an update is only queued when none is
pending (rule 4 of DESIGN.md's timing semantics cancels before it queues, and rule
3 keeps the pending one when it already carries the new value), and a pending
value is always the complement of the present output. So a gate's state is its
output net's value and one due time (-1 when none). Pending gates sit in a time
wheel of `wheel_size` buckets (a power of two above the largest delay), each a
doubly linked list, so queueing and cancelling are O(1) and a due time maps to
exactly one bucket; a bitmap of non-empty buckets finds the next due time. A
gate's present input combination is kept as an integer, updated by XOR-ing pin
masks when an input net changes, so evaluating a gate is one table shift.
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
    rise,
    fall,
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
    wheel_size,
    rise_weight,
    fall_weight,
    per_transition,
    record,
    log_capacity,
):
    """Simulate transitions vectors[first[k]] -> vectors[second[k]], each standing for `multiplicity[k]` equal ones.

    `values` (per net) and `gate_index` (per gate, its input combination, bit k for
    input k) are a consistent state, updated in place; fanout entry f feeds gate
    `fanout_gate[f]` on the input pins set in `fanout_pins[f]`. Returns per-net
    toggle and settled-change counts (times multiplicity), per transition the last
    output-port event, the last event on any net and the weighted toggle sum, the
    number of gate output events (times multiplicity), the per-transition toggle
    matrix (1×1 unless `per_transition`), and, when `record`, a log of
    (transition, time, net) for every value change, time -1 for the changes of a
    jump, with its length (which may exceed `log_capacity`: the caller then retries
    with room for all).
    """
    n_gates = gate_output.shape[0]
    n_nets = values.shape[0]
    n_inputs = input_nets.shape[0]
    n_transitions = first.shape[0]
    mask = wheel_size - 1

    head = np.full(wheel_size, -1, np.int32)
    occupied = np.zeros(max(wheel_size // 64, 1), np.uint64)
    words = occupied.shape[0]
    next_gate = np.full(n_gates, -1, np.int32)
    prev_gate = np.full(n_gates, -1, np.int32)
    due = np.full(n_gates, -1, np.int64)
    eval_stamp = np.zeros(n_gates, np.int64)
    eval_queue = np.empty(n_gates, np.int32)
    changed = np.empty(n_nets, np.int32)
    touched_in = np.full(n_nets, -1, np.int64)
    touched = np.empty(n_nets, np.int32)
    start_value = np.empty(n_nets, np.uint8)

    toggles = np.zeros(n_nets, np.int64)
    settled_changes = np.zeros(n_nets, np.int64)
    last_output_event = np.zeros(n_transitions, np.int64)
    last_event = np.zeros(n_transitions, np.int64)
    weighted = np.zeros(n_transitions, np.float64)
    matrix = np.zeros((n_transitions if per_transition else 1, n_nets if per_transition else 1), np.int32)
    log = np.empty((log_capacity, 3), np.int64)
    logged = 0
    events = 0
    stamp = 0
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
        stamp += 1
        n_changed = 0
        n_eval = 0
        n_touched = 0
        pending = 0
        energy = 0.0
        last_out = 0
        last_any = 0
        t = 0
        for p in range(n_inputs):
            net = input_nets[p]
            if values[net] != vectors[current, p]:
                values[net] = vectors[current, p]
                changed[n_changed] = net
                n_changed += 1
        while True:
            for c in range(n_changed):
                net = changed[c]
                value = values[net]
                toggles[net] += count
                if touched_in[net] != i:
                    touched_in[net] = i
                    touched[n_touched] = net
                    start_value[n_touched] = 1 - value
                    n_touched += 1
                energy += rise_weight[net] if value else fall_weight[net]
                if per_transition:
                    matrix[i, net] += 1
                if record:
                    if logged < log_capacity:
                        log[logged, 0] = i
                        log[logged, 1] = t
                        log[logged, 2] = net
                    logged += 1
                last_any = t
                if is_output[net]:
                    last_out = t
                for f in range(fanout_start[net], fanout_start[net + 1]):
                    g = fanout_gate[f]
                    gate_index[g] ^= fanout_pins[f]
                    if eval_stamp[g] != stamp:
                        eval_stamp[g] = stamp
                        eval_queue[n_eval] = g
                        n_eval += 1
            for e in range(n_eval):
                g = eval_queue[e]
                new = (gate_table[g] >> gate_index[g]) & 1
                present = values[gate_output[g]]
                when = due[g]
                if when >= 0:
                    if new == present:
                        b = when & mask
                        before, after = prev_gate[g], next_gate[g]
                        if before >= 0:
                            next_gate[before] = after
                        else:
                            head[b] = after
                            if after < 0:
                                occupied[b >> 6] &= ~(np.uint64(1) << np.uint64(b & 63))
                        if after >= 0:
                            prev_gate[after] = before
                        due[g] = -1
                        pending -= 1
                elif new != present:
                    when = t + (rise[g] if new else fall[g])
                    b = when & mask
                    leader = head[b]
                    next_gate[g] = leader
                    prev_gate[g] = -1
                    if leader >= 0:
                        prev_gate[leader] = g
                    else:
                        occupied[b >> 6] |= np.uint64(1) << np.uint64(b & 63)
                    head[b] = g
                    due[g] = when
                    pending += 1
            if pending == 0:
                break
            n_eval = 0
            n_changed = 0
            b = (t + 1) & mask
            w = b >> 6
            word = occupied[w] >> np.uint64(b & 63)
            if word != 0:
                b += np.int64(_trailing_zeros(word))
            else:
                w = (w + 1) & (words - 1)
                while occupied[w] == 0:
                    w = (w + 1) & (words - 1)
                b = (w << 6) + np.int64(_trailing_zeros(occupied[w]))
            t += (b - t) & mask
            stamp += 1
            g = head[b]
            head[b] = -1
            occupied[b >> 6] &= ~(np.uint64(1) << np.uint64(b & 63))
            while g >= 0:
                due[g] = -1
                pending -= 1
                events += count
                net = gate_output[g]
                values[net] = 1 - values[net]
                changed[n_changed] = net
                n_changed += 1
                g = next_gate[g]
        for j in range(n_touched):
            if values[touched[j]] != start_value[j]:
                settled_changes[touched[j]] += count
        last_output_event[i] = last_out
        last_event[i] = last_any
        weighted[i] = energy
    return toggles, settled_changes, last_output_event, last_event, weighted, events, matrix, log, logged


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
def run_path_transitions(
    gate_index,
    gate_table,
    gate_output,
    arc_rise,
    arc_fall,
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
    wheel_size,
    rise_weight,
    fall_weight,
    per_transition,
    record,
    log_capacity,
):
    """`run_transitions` with the path-delay semantics of DESIGN.md: per input pin delays, samples never cancelled.

    A gate's function value follows its inputs at once; each change of it at time
    t schedules a sample of the function at t + d, d the smallest delay (for the
    new value's edge) over the input pins that changed at t. A sample sets the
    output to the function's value at that moment, before the step's evaluations.
    A gate may hold many pending samples: they are nodes of a pool, listed per
    time-wheel bucket. Arguments and results as for `run_transitions`, with
    `arc_rise` and `arc_fall` (gates × pins × input edge, rise 0 and fall 1) in
    place of the gate delays: a pin's delay is that of the edge it changed on.
    """
    n_gates = gate_output.shape[0]
    n_nets = values.shape[0]
    n_inputs = input_nets.shape[0]
    n_transitions = first.shape[0]
    mask = wheel_size - 1

    head = np.full(wheel_size, -1, np.int32)
    occupied = np.zeros(max(wheel_size // 64, 1), np.uint64)
    words = occupied.shape[0]
    node_gate = np.empty(4 * n_gates + 64, np.int32)
    node_next = np.empty(4 * n_gates + 64, np.int32)
    free = -1
    used = 0
    internal = np.empty(n_gates, np.uint8)
    for g in range(n_gates):
        internal[g] = (gate_table[g] >> gate_index[g]) & 1
    changed_pins = np.zeros(n_gates, np.int64)
    eval_stamp = np.zeros(n_gates, np.int64)
    eval_queue = np.empty(n_gates, np.int32)
    changed = np.empty(n_nets, np.int32)
    touched_in = np.full(n_nets, -1, np.int64)
    touched = np.empty(n_nets, np.int32)
    start_value = np.empty(n_nets, np.uint8)

    toggles = np.zeros(n_nets, np.int64)
    settled_changes = np.zeros(n_nets, np.int64)
    last_output_event = np.zeros(n_transitions, np.int64)
    last_event = np.zeros(n_transitions, np.int64)
    weighted = np.zeros(n_transitions, np.float64)
    matrix = np.zeros((n_transitions if per_transition else 1, n_nets if per_transition else 1), np.int32)
    log = np.empty((log_capacity, 3), np.int64)
    logged = 0
    events = 0
    stamp = 0
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
            for g in range(n_gates):
                internal[g] = (gate_table[g] >> gate_index[g]) & 1
        current = second[i]
        count = multiplicity[i]
        stamp += 1
        n_changed = 0
        n_eval = 0
        n_touched = 0
        pending = 0
        energy = 0.0
        last_out = 0
        last_any = 0
        t = 0
        for p in range(n_inputs):
            net = input_nets[p]
            if values[net] != vectors[current, p]:
                values[net] = vectors[current, p]
                changed[n_changed] = net
                n_changed += 1
        while True:
            for c in range(n_changed):
                net = changed[c]
                value = values[net]
                toggles[net] += count
                if touched_in[net] != i:
                    touched_in[net] = i
                    touched[n_touched] = net
                    start_value[n_touched] = 1 - value
                    n_touched += 1
                energy += rise_weight[net] if value else fall_weight[net]
                if per_transition:
                    matrix[i, net] += 1
                if record:
                    if logged < log_capacity:
                        log[logged, 0] = i
                        log[logged, 1] = t
                        log[logged, 2] = net
                    logged += 1
                last_any = t
                if is_output[net]:
                    last_out = t
                for f in range(fanout_start[net], fanout_start[net + 1]):
                    g = fanout_gate[f]
                    gate_index[g] ^= fanout_pins[f]
                    changed_pins[g] |= fanout_pins[f]
                    if eval_stamp[g] != stamp:
                        eval_stamp[g] = stamp
                        eval_queue[n_eval] = g
                        n_eval += 1
            for e in range(n_eval):
                g = eval_queue[e]
                new = (gate_table[g] >> gate_index[g]) & 1
                pins = changed_pins[g]
                changed_pins[g] = 0
                if new == internal[g]:
                    continue
                internal[g] = new
                delay = np.int64(-1)
                index = gate_index[g]
                while pins:
                    j = np.int64(_trailing_zeros(np.uint64(pins)))
                    pins &= pins - 1
                    edge = 1 - ((index >> j) & 1)
                    d = arc_rise[g, j, edge] if new else arc_fall[g, j, edge]
                    if delay < 0 or d < delay:
                        delay = d
                if free >= 0:
                    node = free
                    free = node_next[node]
                else:
                    if used == node_gate.shape[0]:
                        grown_gate = np.empty(2 * used, np.int32)
                        grown_next = np.empty(2 * used, np.int32)
                        grown_gate[:used] = node_gate
                        grown_next[:used] = node_next
                        node_gate = grown_gate
                        node_next = grown_next
                    node = used
                    used += 1
                b = (t + delay) & mask
                node_gate[node] = g
                node_next[node] = head[b]
                if head[b] < 0:
                    occupied[b >> 6] |= np.uint64(1) << np.uint64(b & 63)
                head[b] = node
                pending += 1
            if pending == 0:
                break
            n_eval = 0
            n_changed = 0
            b = (t + 1) & mask
            w = b >> 6
            word = occupied[w] >> np.uint64(b & 63)
            if word != 0:
                b += np.int64(_trailing_zeros(word))
            else:
                w = (w + 1) & (words - 1)
                while occupied[w] == 0:
                    w = (w + 1) & (words - 1)
                b = (w << 6) + np.int64(_trailing_zeros(occupied[w]))
            t += (b - t) & mask
            stamp += 1
            node = head[b]
            head[b] = -1
            occupied[b >> 6] &= ~(np.uint64(1) << np.uint64(b & 63))
            while node >= 0:
                g = node_gate[node]
                after = node_next[node]
                node_next[node] = free
                free = node
                node = after
                pending -= 1
                net = gate_output[g]
                if values[net] != internal[g]:
                    values[net] = internal[g]
                    events += count
                    changed[n_changed] = net
                    n_changed += 1
        for j in range(n_touched):
            if values[touched[j]] != start_value[j]:
                settled_changes[touched[j]] += count
        last_output_event[i] = last_out
        last_event[i] = last_any
        weighted[i] = energy
    return toggles, settled_changes, last_output_event, last_event, weighted, events, matrix, log, logged


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

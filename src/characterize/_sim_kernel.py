"""The compiled event loop of the timing simulator (numba), over all transitions in one call.

Each gate keeps at most one pending update: an update is only queued when none is
pending (rule 4 of DESIGN.md's timing semantics cancels before it queues, and rule
3 keeps the pending one when it already carries the new value), and a pending
value is always the complement of the present output. So a gate's state is its
output net's value and one due time (-1 when none). Pending gates sit in a time
wheel of `wheel_size` buckets (a power of two above the largest delay), each a
doubly linked list, so queueing and cancelling are O(1) and a due time maps to
exactly one bucket.
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
    gate_inputs,
    gate_table,
    gate_output,
    rise,
    fall,
    fanout_start,
    fanout_gate,
    is_output,
    input_nets,
    input_bits,
    values,
    wheel_size,
    rise_weight,
    fall_weight,
    per_transition,
    record,
    log_capacity,
):
    """Simulate transitions input_bits[i] -> input_bits[i + 1] from the settled `values` (updated in place).

    `gate_inputs` is padded with net 0 (constant 0), so a gate's table index is a
    fixed-width sum. Returns per-net toggle and settled-change counts, per
    transition the last output-port event, the last event on any net and the
    weighted toggle sum, the number of gate output events, the per-transition
    toggle matrix (1×1 unless `per_transition`), and, when `record`, a log of
    (transition, time, net) for every value change with its length (which may
    exceed `log_capacity`: the caller retries with room for all).
    """
    n_gates = gate_output.shape[0]
    width = gate_inputs.shape[1]
    n_nets = values.shape[0]
    n_inputs = input_nets.shape[0]
    n_transitions = input_bits.shape[0] - 1
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

    for i in range(n_transitions):
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
            if values[net] != input_bits[i + 1, p]:
                values[net] = input_bits[i + 1, p]
                changed[n_changed] = net
                n_changed += 1
        while True:
            for c in range(n_changed):
                net = changed[c]
                value = values[net]
                toggles[net] += 1
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
                    if eval_stamp[g] != stamp:
                        eval_stamp[g] = stamp
                        eval_queue[n_eval] = g
                        n_eval += 1
            for e in range(n_eval):
                g = eval_queue[e]
                index = 0
                for k in range(width):
                    index |= np.int64(values[gate_inputs[g, k]]) << k
                new = (gate_table[g] >> index) & 1
                present = values[gate_output[g]]
                if due[g] >= 0:
                    if new == present:
                        b = due[g] & mask
                        if prev_gate[g] >= 0:
                            next_gate[prev_gate[g]] = next_gate[g]
                        else:
                            head[b] = next_gate[g]
                            if next_gate[g] < 0:
                                occupied[b >> 6] &= ~(np.uint64(1) << np.uint64(b & 63))
                        if next_gate[g] >= 0:
                            prev_gate[next_gate[g]] = prev_gate[g]
                        due[g] = -1
                        pending -= 1
                elif new != present:
                    when = t + (rise[g] if new else fall[g])
                    b = when & mask
                    next_gate[g] = head[b]
                    prev_gate[g] = -1
                    if head[b] >= 0:
                        prev_gate[head[b]] = g
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
                w = (w + 1) % words
                while occupied[w] == 0:
                    w = (w + 1) % words
                b = (w << 6) + np.int64(_trailing_zeros(occupied[w]))
            t += (b - t) & mask
            stamp += 1
            g = head[b]
            head[b] = -1
            occupied[b >> 6] &= ~(np.uint64(1) << np.uint64(b & 63))
            while g >= 0:
                due[g] = -1
                pending -= 1
                events += 1
                net = gate_output[g]
                values[net] = 1 - values[net]
                changed[n_changed] = net
                n_changed += 1
                g = next_gate[g]
        for j in range(n_touched):
            if values[touched[j]] != start_value[j]:
                settled_changes[touched[j]] += 1
        last_output_event[i] = last_out
        last_event[i] = last_any
        weighted[i] = energy
    return toggles, settled_changes, last_output_event, last_event, weighted, events, matrix, log, logged

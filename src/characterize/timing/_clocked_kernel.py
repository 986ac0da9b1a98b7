"""The compiled event loop of the clocked simulator (numba): one continuous timeline with registers.

Gates follow the timing semantics of `_kernel` (DESIGN.md, "Timing semantics of
sim"): at time t every update due at t takes effect, then every gate whose inputs
changed at t is evaluated once. With gate delays (inertial) a gate keeps at most
one pending update, the complement of its present output, cancelled when the
function returns to the output's value; with arc delays (`per_arc`, path delays)
every change of a gate's function schedules a sample after the delay of the arc
from the pins that changed, never cancelled, which sets the output to the
function's value just before the sample's time (the value after every change
before it). External changes (input rows, clock edges) are
applied at t together with the updates due then. Registers sit between the two
steps: a register whose clock, clear or preset input changed at t is evaluated on
the values after every change at t; on the active clock edge its state net takes
the next-state function of the present inputs, a clear (preset) forces 0 (1). A
state change is one more change at t, so the register's output gate (the clock-to-Q
delay) is evaluated in the same step. A latch (`reg_latch`) has no edge: while its enable
function is 1 its state follows the data function of the present inputs, otherwise it
holds. A data pin that changes at the very step of
an active edge is a race (a setup violation of zero margin) and is counted.

Registers feed back, so gates are not visited in one topological pass as in `_kernel`:
pending updates sit in a time wheel (buckets of linked updates, one bucket per due
time modulo a power of two above the largest delay), drawn from a pool that grows
when a burst of samples fills it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from characterize.timing._kernel import arc_delay


@njit(cache=True, nogil=True)
def run_clocked(
    gate_inputs,
    gate_table,
    gate_output,
    rise,
    fall,
    arc_rise,
    arc_fall,
    per_arc,
    fanout_start,
    fanout_gate,
    fanout_pins,
    reg_inputs,
    reg_clock_table,
    reg_data_table,
    reg_clear_table,
    reg_preset_table,
    reg_state,
    reg_clock_pins,
    reg_latch,
    reg_fanout_start,
    reg_fanout_reg,
    values,
    input_nets,
    rows,
    clock_net,
    period,
    half,
    count_from,
    wheel_size,
    rise_weight,
    fall_weight,
    is_output,
):
    """Run rows[i] applied at i·period with the clock falling then, rising at i·period + half.

    `values` (per net, register state nets included) must be a settled state of row 0
    with the clock low; it is updated in place. Fanout entry f feeds gate `fanout_gate[f]`
    on the input pins set in `fanout_pins[f]`. Delays in steps: with `per_arc`, `arc_rise`
    and `arc_fall` (gates × pins × input edge) and the path-delay semantics, else `rise`
    and `fall` per gate and the inertial one. Returns per-net toggles counted from
    time `count_from` up to (not including) len(rows)·period, the switching energy per
    cycle (Σ rise/fall weights of the changes in [i·period, (i+1)·period)), the energy
    per net over the counted changes, the changes of each net's value from one cycle
    boundary to the next from `count_from` on (settled changes: toggles less these are
    glitches), how many of those boundaries found each net at 1, the number of gate output
    events and of races, and per cycle the time after its start of the last change of a net
    with `is_output` set (-1 if none, or before `count_from`).
    """
    n_gates = gate_output.shape[0]
    n_nets = values.shape[0]
    n_regs = reg_state.shape[0]
    n_rows = rows.shape[0]
    end = n_rows * period
    mask = wheel_size - 1
    head = np.full(wheel_size, -1, np.int64)
    capacity = 16  # pending updates the pool holds; it doubles (at least) whenever it would run out
    node_gate = np.empty(capacity, np.int32)
    node_when = np.empty(capacity, np.int64)
    next_node = np.empty(capacity, np.int64)
    prev_node = np.empty(capacity, np.int64)
    free = np.arange(capacity - 1, -1, -1).astype(np.int64)  # a stack of unused nodes
    n_free = capacity
    due = np.full(n_gates, -1, np.int64)  # gate delays: the node of the pending update
    function = np.empty(n_gates, np.uint8)  # arc delays: each gate's function value
    changed_pins = np.zeros(n_gates, np.int64)  # per gate to evaluate: its input pins that changed
    eval_stamp = np.zeros(n_gates, np.int64)
    reg_stamp = np.zeros(n_regs, np.int64)
    eval_queue = np.empty(n_gates, np.int32)
    reg_queue = np.empty(max(n_regs, 1), np.int32)
    changed = np.empty(n_nets, np.int32)
    changed_at = np.full(n_nets, -1, np.int64)
    toggles = np.zeros(n_nets, np.int64)
    energy = np.zeros(n_rows, np.float64)
    last_output = np.full(n_rows, -1, np.int64)
    net_energy = np.zeros(n_nets, np.float64)
    settled = np.zeros(n_nets, np.int64)
    ones = np.zeros(n_nets, np.int64)
    snapshot = values.copy()
    clock_level = np.zeros(n_regs, np.uint8)
    events = 0
    races = 0
    pending = 0
    stamp = 0
    for g in range(n_gates):
        function[g] = values[gate_output[g]]
    for r in range(n_regs):
        clock_level[r] = (reg_clock_table[r] >> _index(reg_inputs, r, values)) & 1

    next_row = 1
    next_rise = half
    t = -1
    while True:
        # the next time: an external event or the earliest pending update
        t_ext = min(next_rise, next_row * period)
        t_due = end
        if pending > 0:
            for step in range(1, wheel_size):
                if head[(t + step) & mask] >= 0:
                    t_due = t + step
                    break
        t = min(t_due, t_ext)
        if t >= count_from and (t == next_row * period or t >= end):
            # a cycle boundary, before its changes: count the nets whose value differs from the last boundary's
            for net in range(n_nets):
                ones[net] += values[net]
                if values[net] != snapshot[net]:
                    if t > count_from:
                        settled[net] += 1
                    snapshot[net] = values[net]
        if t >= end:
            break
        stamp += 1
        n_changed = 0
        if t == t_due:
            b = t & mask
            node = head[b]
            head[b] = -1
            while node >= 0:
                g = node_gate[node]
                pending -= 1
                free[n_free] = node
                n_free += 1
                node = next_node[node]
                net = gate_output[g]
                if per_arc:
                    if function[g] == values[net]:
                        continue
                else:
                    due[g] = -1
                events += 1
                values[net] = 1 - values[net]
                changed[n_changed] = net
                n_changed += 1
        if t == next_row * period:
            if values[clock_net] != 0:
                values[clock_net] = 0
                changed[n_changed] = clock_net
                n_changed += 1
            for p in range(input_nets.shape[0]):
                net = input_nets[p]
                if values[net] != rows[next_row, p]:
                    values[net] = rows[next_row, p]
                    changed[n_changed] = net
                    n_changed += 1
            next_row += 1
        elif t == next_rise:
            values[clock_net] = 1
            changed[n_changed] = clock_net
            n_changed += 1
            next_rise += period
        for c in range(n_changed):
            changed_at[changed[c]] = t
        # registers triggered by the changes of this step
        n_reg = 0
        for c in range(n_changed):
            net = changed[c]
            for f in range(reg_fanout_start[net], reg_fanout_start[net + 1]):
                r = reg_fanout_reg[f]
                if reg_stamp[r] != stamp:
                    reg_stamp[r] = stamp
                    reg_queue[n_reg] = r
                    n_reg += 1
        n_state = n_changed
        for k in range(n_reg):
            r = reg_queue[k]
            index = _index(reg_inputs, r, values)
            level = (reg_clock_table[r] >> index) & 1
            edge = level == 1 and clock_level[r] == 0
            clock_level[r] = level
            state = reg_state[r]
            old = values[state]
            new = old
            if (reg_clear_table[r] >> index) & 1:
                new = 0
            elif (reg_preset_table[r] >> index) & 1:
                new = 1
            elif reg_latch[r] and level == 1:
                new = (reg_data_table[r] >> (index | (np.int64(old) << reg_inputs.shape[1]))) & 1
                if clock_changed(reg_inputs, r, reg_clock_pins, changed_at, t):
                    races += data_changed(reg_inputs, r, reg_clock_pins, changed_at, t)
            elif reg_latch[r]:
                if clock_changed(reg_inputs, r, reg_clock_pins, changed_at, t):
                    races += data_changed(reg_inputs, r, reg_clock_pins, changed_at, t)
            elif edge:
                new = (reg_data_table[r] >> (index | (np.int64(old) << reg_inputs.shape[1]))) & 1
                races += data_changed(reg_inputs, r, reg_clock_pins, changed_at, t)
            if new != old:
                values[state] = new
                changed[n_state] = state
                changed_at[state] = t
                n_state += 1
        # count the changes and evaluate the gates they feed
        n_eval = 0
        cycle = t // period
        for c in range(n_state):
            net = changed[c]
            spent = rise_weight[net] if values[net] else fall_weight[net]
            energy[cycle] += spent
            if t >= count_from:
                toggles[net] += 1
                net_energy[net] += spent
                if is_output[net]:
                    last_output[cycle] = t - cycle * period
            for f in range(fanout_start[net], fanout_start[net + 1]):
                g = fanout_gate[f]
                if eval_stamp[g] != stamp:
                    eval_stamp[g] = stamp
                    eval_queue[n_eval] = g
                    n_eval += 1
                    changed_pins[g] = 0
                changed_pins[g] |= fanout_pins[f]
        if n_free < n_eval:  # room for one new update per evaluated gate
            grown = capacity + max(capacity, n_eval)
            node_gate = _grown(node_gate, grown)
            next_node = _grown(next_node, grown)
            prev_node = _grown(prev_node, grown)
            node_when = _grown(node_when, grown)
            free = _grown(free, grown)
            for node in range(grown - 1, capacity - 1, -1):
                free[n_free] = node
                n_free += 1
            capacity = grown
        for e in range(n_eval):
            g = eval_queue[e]
            index = 0
            for j in range(gate_inputs.shape[1]):
                net = gate_inputs[g, j]
                if net >= 0:
                    index |= np.int64(values[net]) << j
            new = (gate_table[g] >> index) & 1
            if per_arc:
                if new == function[g]:
                    continue
                function[g] = new
                when = t + arc_delay(arc_rise, arc_fall, g, changed_pins[g], index, new)
            else:
                present = values[gate_output[g]]
                node = due[g]
                if node >= 0:
                    if new == present:  # cancel the pending update
                        before, after = prev_node[node], next_node[node]
                        if before >= 0:
                            next_node[before] = after
                        else:
                            head[node_when[node] & mask] = after
                        if after >= 0:
                            prev_node[after] = before
                        due[g] = -1
                        pending -= 1
                        free[n_free] = node
                        n_free += 1
                    continue
                if new == present:
                    continue
                when = t + (rise[g] if new else fall[g])
            n_free -= 1
            node = free[n_free]
            node_gate[node] = g
            node_when[node] = when
            b = when & mask
            leader = head[b]
            next_node[node] = leader
            prev_node[node] = -1
            if leader >= 0:
                prev_node[leader] = node
            head[b] = node
            if not per_arc:
                due[g] = node
            pending += 1
    return toggles, energy, net_energy, settled, ones, events, races, last_output


@njit(cache=True, nogil=True)
def _grown(array, size):
    """`array` copied into a longer one of `size` entries."""
    grown = np.empty(size, array.dtype)
    grown[: array.shape[0]] = array
    return grown


@njit(cache=True, nogil=True)
def _index(reg_inputs, r, values):
    """The present input combination of register r (input j is bit j)."""
    index = 0
    for j in range(reg_inputs.shape[1]):
        net = reg_inputs[r, j]
        if net >= 0:
            index |= np.int64(values[net]) << j
    return index


@njit(cache=True, nogil=True)
def data_changed(reg_inputs, r, reg_clock_pins, changed_at, t):
    """1 if a data pin (not a clock or enable pin) of register r changed at time t, else 0."""
    for j in range(reg_inputs.shape[1]):
        net = reg_inputs[r, j]
        if net >= 0 and not (reg_clock_pins[r] >> j) & 1 and changed_at[net] == t:
            return 1
    return 0


@njit(cache=True, nogil=True)
def clock_changed(reg_inputs, r, reg_clock_pins, changed_at, t):
    """Whether a clock or enable pin of register r changed at time t."""
    for j in range(reg_inputs.shape[1]):
        net = reg_inputs[r, j]
        if net >= 0 and (reg_clock_pins[r] >> j) & 1 and changed_at[net] == t:
            return True
    return False

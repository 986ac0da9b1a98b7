"""Timing simulation speed: gatedse's numba kernel against Icarus Verilog, and against vectorized numpy.

The work: an 8-bit signed radix-4 Booth multiplier (ripple final adder) with its
weight held at one value and 100,000 transitions of random activations. Both
simulators must report the same toggles on every net and the same sensitized
delays (asserted). Printed: our wall time cold (a fresh process that JIT-compiles
the kernel, and one that loads it from numba's cache) and warm, with equal
transitions simulated once (`simulate`) and with every transition simulated;
Icarus's as whole processes (iverilog compile + vvp run, the VCD it writes being
its way of reporting toggles, reading that VCD not counted against it; and,
slower, with toggle counters in the testbench); the ratios, events per second,
and the same semantics as numpy vectorized over transitions, step by step.
Then the same work with per-arc delays from the delay calculation (the
path-delay loop) against Icarus with `specify` paths. Last, the kernel on 1, 2, ...
threads (`--threads`): events per second of wall time and per core (wall time ×
threads), and per second of process CPU time, which a machine shared with other
work inflates less than wall time.

    .venv/bin/python benchmarks/sim_vs_iverilog.py [--transitions N] [--weight W] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np

from characterize.generators import multiplier
from characterize.netlist.ir import CONST0
from characterize.netlist.logic import net_values
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.delays import annotate_arc_delays, annotate_delays
from characterize.timing.kernel import KernelCircuit, run_transitions
from characterize.timing.sim import input_bit_matrix, simulate
from characterize.timing.timed_verilog import run_iverilog


def workload(transitions: int, weight: int, seed: int = 1):
    timed = annotate_delays(multiplier(8, True, "booth", "ripple"))
    rng = np.random.default_rng(seed)
    inputs = {"a": rng.integers(-128, 128, transitions + 1), "w": np.full(transitions + 1, weight)}
    return timed, inputs


def child(transitions: int, weight: int) -> None:
    """Run in a fresh process: time the first simulate() call (JIT compile or cache load included)."""
    timed, inputs = workload(transitions, weight)
    start = time.perf_counter()
    result = simulate(timed, inputs)
    print(json.dumps({"first_call_s": time.perf_counter() - start, "events": result.events}))


def fresh_process(transitions: int, weight: int, cache_dir: str) -> tuple[float, float]:
    """(whole process wall time, first simulate() call) of a new interpreter using `cache_dir` as numba's cache."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--transitions", str(transitions), "--weight", str(weight)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    return wall, json.loads(done.stdout.splitlines()[-1])["first_call_s"]


def rerun_vvp(workdir: str) -> float:
    """Wall time of another run of the compiled simulation in `workdir`."""
    start = time.perf_counter()
    subprocess.run(["vvp", "-n", "sim.vvp"], cwd=workdir, capture_output=True, check=True)
    return time.perf_counter() - start


def kernel_without_merging(timed, bits: np.ndarray) -> float:
    """Seconds for the numba kernel to run every transition in order, equal ones included."""
    circuit = KernelCircuit.from_timed(timed)
    state = circuit.initial_state()
    count = len(bits) - 1
    start = time.perf_counter()
    run_transitions(circuit, state, bits, np.arange(count), np.arange(1, count + 1))
    return time.perf_counter() - start


def kernel_on_threads(timed, bits: np.ndarray, threads: int) -> tuple[int, float, float]:
    """(events, best wall s, its process CPU s) of the kernel running every transition on `threads` threads."""
    circuit = KernelCircuit.from_timed(timed)
    count = len(bits) - 1
    best = (float("inf"), 0.0)
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        run = run_transitions(circuit, circuit.initial_state(), bits, np.arange(count), np.arange(1, count + 1),
                              per_transition=True, threads=threads)
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return run.events, *best


def numpy_simulate(timed, inputs) -> np.ndarray:
    """Toggles per net with the same inertial semantics, vectorized over transitions: at each time step
    the events of every transition are applied and the gates they reach evaluated with array operations."""
    netlist = timed.netlist
    bits = input_bit_matrix(timed, inputs)
    batch, n_gates = len(bits) - 1, timed.gate_count
    gate_inputs = np.where(timed.gate_inputs < 0, CONST0, timed.gate_inputs)
    shifts = np.arange(gate_inputs.shape[1])
    starts, fanout, _pins = timed.fanout
    fan_count = np.diff(starts)
    values = np.ascontiguousarray(net_values(netlist, {k: v[:-1] for k, v in inputs.items()}).T)
    due = np.full((batch, n_gates), -1, dtype=np.int64)
    toggles = np.zeros(timed.net_count, dtype=np.int64)
    calendar: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    times: list[int] = []
    new = bits[1:]
    rows, columns = np.nonzero(values[:, timed.input_nets] != new)
    nets = timed.input_nets[columns]
    values[rows, nets] = new[rows, columns]
    t = 0
    while True:
        toggles += np.bincount(nets, minlength=timed.net_count)
        counts = fan_count[nets]
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        keys = np.unique(np.repeat(rows, counts) * n_gates + fanout[np.repeat(starts[nets], counts) + offsets])
        er, eg = keys // n_gates, keys % n_gates
        index = (values[er[:, None], gate_inputs[eg]].astype(np.int64) << shifts).sum(axis=1)
        f = (timed.gate_table[eg] >> index) & 1
        present = values[er, timed.gate_output[eg]]
        pending = due[er, eg]
        cancel = (pending >= 0) & (f == present)
        due[er[cancel], eg[cancel]] = -1
        queue = (pending < 0) & (f != present)
        qr, qg = er[queue], eg[queue]
        when = t + np.where(f[queue] == 1, timed.rise_steps[qg], timed.fall_steps[qg])
        due[qr, qg] = when
        for moment in np.unique(when):
            chosen = when == moment
            if int(moment) not in calendar:
                heapq.heappush(times, int(moment))
            calendar[int(moment)].append((qr[chosen], qg[chosen]))
        while times and times[0] not in calendar:
            heapq.heappop(times)
        if not times:
            return toggles
        t = heapq.heappop(times)
        entries = calendar.pop(t)
        keys = np.unique(np.concatenate([r * n_gates + g for r, g in entries]))
        rows, gates = keys // n_gates, keys % n_gates
        live = due[rows, gates] == t
        rows, gates = rows[live], gates[live]
        due[rows, gates] = -1
        nets = timed.gate_output[gates]
        values[rows, nets] ^= 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=100_000)
    parser.add_argument("--weight", type=int, default=57)
    parser.add_argument("--numpy-transitions", type=int, default=20_000, help="numpy runs on this many, scaled up")
    parser.add_argument("--threads", default="1,2", help="thread counts for the kernel's parallel runs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.transitions, args.weight)
        return
    timed, inputs = workload(args.transitions, args.weight)
    print(
        f"netlist {timed.netlist.name}: {len(timed.netlist.instances)} cells, {timed.gate_count} gates, "
        f"{timed.net_count} nets; weight {args.weight}, {args.transitions} transitions, 1 ps steps"
    )

    with tempfile.TemporaryDirectory() as cache:
        cold_wall, cold_call = fresh_process(args.transitions, args.weight, cache)
        cached_wall, cached_call = fresh_process(args.transitions, args.weight, cache)
    warm = []
    for _ in range(3):
        start = time.perf_counter()
        ours = simulate(timed, inputs)
        warm.append(time.perf_counter() - start)
    warm_s = min(warm)
    print(f"ours  cold, JIT compile:  simulate() {cold_call:6.2f} s   whole process {cold_wall:6.2f} s")
    print(f"ours  cold, numba cache:  simulate() {cached_call:6.2f} s   whole process {cached_wall:6.2f} s")
    bits = input_bit_matrix(timed, inputs)
    keys = bits.astype(np.int64) @ (1 << np.arange(bits.shape[1], dtype=np.int64))
    distinct = len(np.unique(keys[:-1] << bits.shape[1] | keys[1:]))
    every_s = min(kernel_without_merging(timed, bits) for _ in range(3))
    print(
        f"ours  warm:               simulate() {warm_s:6.2f} s   {ours.events / warm_s / 1e6:.1f} M events/s "
        f"({ours.events} gate output events, {ours.toggles.sum()} toggles; {distinct} distinct transitions)"
    )
    print(
        f"ours  warm, each of the {args.transitions} transitions simulated (no merging of equal ones): "
        f"{every_s:6.2f} s   {ours.events / every_s / 1e6:.1f} M events/s"
    )

    with tempfile.TemporaryDirectory() as workdir:
        start = time.perf_counter()
        reference = run_iverilog(timed, inputs, workdir)
        read_s = time.perf_counter() - start - reference.compile_s - reference.run_s
        vvp_s = min([reference.run_s] + [rerun_vvp(workdir) for _ in range(2)])
    assert np.array_equal(ours.toggles, reference.toggles), "toggles differ from Icarus Verilog"
    assert np.array_equal(ours.sensitized_delay_steps, reference.sensitized_delay_steps), "sensitized delays differ"
    icarus_s = reference.compile_s + vvp_s
    print(
        f"iverilog, VCD of every net: compile {reference.compile_s:.2f} s + vvp {vvp_s:.2f} s (best of 3) = "
        f"{icarus_s:.2f} s; reading the VCD took {read_s:.1f} s more, not counted; toggles and delays equal"
    )
    with tempfile.TemporaryDirectory() as workdir:
        counting = run_iverilog(timed, inputs, workdir, vcd=False)
    assert np.array_equal(ours.toggles, counting.toggles), "toggles counted in Verilog differ"
    print(
        f"iverilog, toggles counted in the testbench: compile {counting.compile_s:.2f} s + vvp {counting.run_s:.2f} s"
    )
    print(
        f"ratio iverilog (VCD) / ours: {icarus_s / warm_s:.0f}x warm, {icarus_s / cached_call:.1f}x cold from cache, "
        f"{icarus_s / cold_call:.1f}x cold with JIT compile, {icarus_s / cold_wall:.1f}x whole cold process"
    )
    print(f"ratio iverilog (counting) / ours warm: {(counting.compile_s + counting.run_s) / warm_s:.0f}x")
    print(f"ratio iverilog (VCD) / ours without merging: {icarus_s / every_s:.0f}x")

    arcs = annotate_arc_delays(calculate_delays(timed.netlist, timed.input_slew_s, timed.external_load_f))
    simulate(arcs, {k: v[:3] for k, v in inputs.items()})  # compile the path-delay loop
    start = time.perf_counter()
    by_arc = simulate(arcs, inputs)
    arc_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as workdir:
        specify = run_iverilog(arcs, inputs, workdir)
    assert np.array_equal(by_arc.toggles, specify.toggles), "toggles with arc delays differ from Icarus"
    assert np.array_equal(by_arc.sensitized_delay_steps, specify.sensitized_delay_steps), "arc delays: delays differ"
    print(
        f"ours  warm, arc delays (path-delay semantics): simulate() {arc_s:6.2f} s   "
        f"{by_arc.events / arc_s / 1e6:.1f} M events/s ({by_arc.events} events); iverilog -gspecify: "
        f"compile {specify.compile_s:.2f} s + vvp {specify.run_s:.2f} s, toggles and delays equal"
    )

    subset = {k: v[: args.numpy_transitions + 1] for k, v in inputs.items()}
    start = time.perf_counter()
    vectorized = numpy_simulate(timed, subset)
    numpy_s = time.perf_counter() - start
    assert np.array_equal(vectorized, simulate(timed, subset).toggles), "numpy and numba toggles differ"
    scaled = numpy_s * args.transitions / args.numpy_transitions
    print(
        f"numpy vectorized over transitions: {numpy_s:.2f} s for {args.numpy_transitions} transitions, "
        f"~{scaled:.1f} s scaled to {args.transitions}; the numba kernel on every transition is "
        f"{scaled / every_s:.0f}x faster, so sim uses numba"
    )

    print(f"kernel on threads, every transition, toggles per transition kept (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    for label, delays in (("gate delays", timed), ("arc delays", arcs)):
        single = None
        for threads in (int(t) for t in args.threads.split(",")):
            events, wall_s, cpu_s = kernel_on_threads(delays, bits, threads)
            single = single or wall_s
            print(f"  {label}, {threads} thread(s): {wall_s:.3f} s, {events / wall_s / 1e6:.1f} M events/s, "
                  f"{events / wall_s / threads / 1e6:.1f} M per core; {events / cpu_s / 1e6:.1f} M per CPU second; "
                  f"speed-up {single / wall_s:.2f}x")


if __name__ == "__main__":
    main()

"""Clocked simulation against Icarus Verilog, and sequential STA against OpenSTA, on the PE and on gcd.

Usage: .venv/bin/python benchmarks/clocked.py [--bits 8] [--cycles 2000] [--gcd PATH] [--library PATH]

For the processing element (`--bits`, booth, accumulator 2*bits + 4) in stationary
and embedded form, for OpenSTA's `gcd_sky130hd.v` with the full sky130 library
where given, and for the latch design of the tests with that library: nets whose
toggle count and cycles whose last output event time differ from Icarus (0 means exact), our
simulation time against iverilog + vvp on the same clocked Verilog, and our
minimum period (inputs at the clock edge) against OpenSTA's `create_clock` +
`report_checks` with a propagated clock, as a ratio (for the latch design, our
period less OpenSTA's worst slack at our period), and the hold slacks.

Before the sequential STA timed per-arc NLDM delays at propagated slews (one
delay per gate at the nominal slew, setup tables at the nominal slew), the ratios
were: PE 4-bit x1.032 (stationary) and x1.071 (embedded w=-3), PE 8-bit x1.037
(stationary), x1.065 (w=-37) and x1.076 (w=-3), gcd x0.980. Now they are x1.0000.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from cells.default import default_library_path, load_library
from characterize.netlist.verilog import read_verilog, write_verilog
from characterize.passes.designs import MultiplierSpec, pe_design, reference_design
from characterize.timing.clocked import annotate_registers, simulate_clocked
from characterize.timing.clocked_verilog import run_iverilog_clocked
from characterize.timing.sequential_sta import sequential_timing
from tests.characterize.test_clocked import LATCHES, opensta_period_ps, opensta_slacks_ps


def compare(name: str, netlist_path: Path, liberty: Path, top: str, clocked, inputs, workdir: Path) -> None:
    timing = sequential_timing(clocked, input_arrival=0.0)
    period = int(np.ceil(sequential_timing(clocked).min_period_ps))
    start = time.perf_counter()
    ours = simulate_clocked(clocked, inputs, period)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    reference = run_iverilog_clocked(clocked, inputs, period, workdir / name)
    icarus_s = time.perf_counter() - start
    if clocked.reg_latch.any():  # a latch's required time moves with the period: OpenSTA's slack at ours
        sta_slack, sta_hold = opensta_slacks_ps(liberty, netlist_path, top, clocked, workdir, timing.min_period_ps / 1000)
        sta_period = timing.min_period_ps - sta_slack
    else:
        sta_period, sta_hold = opensta_period_ps(liberty, netlist_path, top, clocked, workdir)
    print(f"{name}: {len(clocked.state_nets)} registers, {len(inputs[next(iter(inputs))])} cycles at {period} ps: "
          f"{int((ours.toggles != reference.toggles).sum())} nets and "
          f"{int((ours.last_output_event_steps != reference.last_output_event_steps).sum())} output event times differ from Icarus, {ours.races} races; "
          f"time {ours_s:.2f} s vs Icarus {icarus_s:.2f} s (x{icarus_s / ours_s:.1f}); "
          f"min period {timing.min_period_ps:.0f} ps vs OpenSTA {sta_period:.0f} ps (x{timing.min_period_ps / sta_period:.4f}), "
          f"hold slack {timing.hold_slack_ps:.1f} vs {sta_hold:.1f} ps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--gcd", type=Path)
    parser.add_argument("--library", type=Path)
    args = parser.parse_args()
    library = load_library()
    spec = MultiplierSpec(args.bits, True, "booth", "ripple", 2 * args.bits + 4, pe=True)
    rng = np.random.default_rng(0)
    low, high = -(1 << (args.bits - 1)), 1 << (args.bits - 1)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        weight = -(37 % (1 << (args.bits - 1)))  # -37 at 8 bits, in range at every width
        for name, design in (("pe stationary", reference_design(spec, library)),
                             (f"pe embedded w={weight}", pe_design(spec, library, weight=weight))):
            path = workdir / f"{design.name}.v"
            path.write_text(write_verilog(design))
            inputs = {"a": rng.integers(low, high, args.cycles), "psum_in": rng.integers(0, 1 << spec.mac_bits, args.cycles)}
            if "w" in {p.name for p in design.inputs}:
                inputs["w"] = np.full(args.cycles, weight)
            compare(name, path, default_library_path(), design.name, annotate_registers(design, "clk"), inputs, workdir)
        if args.gcd and args.library:
            netlist = read_verilog(args.gcd, load_library(args.library))
            reset = np.zeros(args.cycles, dtype=np.int64)
            reset[:3] = 1
            inputs = {"req_msg": rng.integers(0, 1 << 32, args.cycles), "req_val": rng.integers(0, 2, args.cycles),
                      "reset": reset, "resp_rdy": rng.integers(0, 2, args.cycles)}
            compare("gcd", args.gcd, args.library, "gcd", annotate_registers(netlist, "clk"), inputs, workdir)
        if args.library:
            path = workdir / "latches.v"
            path.write_text(LATCHES)
            inputs = {"a": rng.integers(0, 8, args.cycles), "b": rng.integers(0, 8, args.cycles)}
            compare("latches", path, args.library, "latches",
                    annotate_registers(read_verilog(path, load_library(args.library)), "clk"), inputs, workdir)


if __name__ == "__main__":
    main()

"""Critical delay against OpenSTA `report_checks -unconstrained`: the simulator's gate delays and the NLDM arc delays.

For each netlist (our multipliers, embedded weights, and circuits mapped by
yosys `abc -liberty` onto the default library) it prints OpenSTA's critical
delay and two ratios to it under the same input transition and output load:
`gates` is the static timing of the simulator's per-gate delays (one rise and
one fall per gate at a fixed input slew, the worst over its input pins, no
interconnect), `arcs` the critical path of the delay calculation (each arc at
its propagated input slew, wire-load interconnect). Then the SDF round trip:
OpenSTA reading our SDF against our critical delay, in ps. `--verilog FILE`
(repeatable) adds any Verilog circuit, e.g. the EPFL combinational suite
(github.com/lsils/benchmarks: arithmetic/adder.v, bar.v, random_control/ctrl.v)
or ISCAS-85 netlists, mapped by yosys onto the library; its top module is the
file's first `module`.

    .venv/bin/python benchmarks/sta_vs_opensta.py [--input-slew-ps 40] [--output-load-ff C] [--library F] [--verilog FILE ...]
        [--only-files]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from cells.default import load_library
from characterize.passes.designs import MultiplierSpec, embedded_design, reference_design
from characterize.passes.resynthesis import resynthesize, synthesize
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.delays import annotate_delays, default_external_load
from characterize.timing.opensta import opensta_critical_delay
from characterize.timing.sdf import write_sdf
from characterize.timing.sta import critical_path, static_timing

BEHAVIORAL = {
    "adder32": "module adder32(input [31:0] a, b, output [32:0] y); assign y = a + b; endmodule",
    "mul12": "module mul12(input [11:0] a, b, output [23:0] y); assign y = a * b; endmodule",
    "shift32": "module shift32(input [31:0] a, input [4:0] s, output [31:0] y); assign y = (a << s) | (a >> (32 - s)); "
    "endmodule",
    "compare24": "module compare24(input [23:0] a, b, output lt, eq); assign lt = a < b; assign eq = a == b; endmodule",
    "c17": "module c17(input N1, N2, N3, N6, N7, output N22, N23); wire N10, N11, N16, N19; "
    "nand (N10, N1, N3); nand (N11, N3, N6); nand (N16, N2, N11); nand (N19, N11, N7); "
    "nand (N22, N10, N16); nand (N23, N16, N19); endmodule",
}


def netlists(library, files: list[Path], only_files: bool):
    for path in files:
        text = path.read_text()
        top = re.search(r"^\s*module\s+([A-Za-z_][A-Za-z0-9_$]*)", text, re.MULTILINE)
        if top is None:
            raise SystemExit(f"{path}: no module")
        yield f"{path.stem} yosys", synthesize(text, top.group(1), library)
    if only_files:
        return
    for arch in ("array", "booth", "wallace", "dadda"):
        spec = MultiplierSpec(8, True, arch)
        reference = reference_design(spec, library)
        yield f"mul8s_{arch}", reference
        for weight in (-3, 37):
            yield f"mul8s_{arch} w={weight}", embedded_design(reference, spec, weight)
    yield "mul8u_array_cla", reference_design(MultiplierSpec(8, False, "array", adder="cla"), library)
    yield "mul8s_booth yosys", resynthesize(reference_design(MultiplierSpec(8, True, "booth"), library), library)
    for name, text in BEHAVIORAL.items():
        yield f"{name} yosys", synthesize(text, name, library)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-slew-ps", type=float, default=40.0)
    parser.add_argument("--output-load-ff", type=float)
    parser.add_argument("--library", type=Path, help="Liberty file (default: the embedded sky130 hd subset)")
    parser.add_argument("--verilog", type=Path, action="append", default=[], help="a circuit to map with yosys")
    parser.add_argument("--only-files", action="store_true", help="time the --verilog circuits only")
    args = parser.parse_args()
    library = load_library(args.library)
    slew = args.input_slew_ps * 1e-12
    load = default_external_load(library) if args.output_load_ff is None else args.output_load_ff * 1e-15
    print(f"input slew {slew * 1e12:g} ps, output load {load * 1e15:g} fF; ratios to OpenSTA")
    print(f"{'netlist':<24} {'cells':>6} {'opensta_ps':>10} {'gates':>7} {'arcs':>7} {'sdf_diff_ps':>11} {'arcs_s':>7}")
    worst_gates = worst_arcs = 0.0
    for name, netlist in netlists(library, args.verilog, args.only_files):
        reference = opensta_critical_delay(netlist, slew, load)
        gates = static_timing(annotate_delays(netlist, slew, load)).critical_delay_s
        start = time.perf_counter()
        calc = calculate_delays(netlist, slew, load)
        arcs = critical_path(calc).critical_delay_s
        elapsed = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as folder:
            sdf = write_sdf(calc, Path(folder) / "ours.sdf")
            through_sdf = opensta_critical_delay(netlist, slew, load, sdf=sdf)
        worst_gates = max(worst_gates, abs(gates / reference - 1))
        worst_arcs = max(worst_arcs, abs(arcs / reference - 1))
        print(f"{name:<24} {len(netlist.instances):>6} {reference * 1e12:>10.1f} {gates / reference:>7.4f} "
              f"{arcs / reference:>7.4f} {(through_sdf - arcs) * 1e12:>11.3f} {elapsed:>7.2f}")
    print(f"largest deviation from OpenSTA: gates {worst_gates * 100:.2f} %, arcs {worst_arcs * 100:.2f} %")


if __name__ == "__main__":
    main()

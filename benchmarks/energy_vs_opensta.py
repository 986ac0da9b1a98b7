"""Energy per operation against OpenSTA `report_power` on the same activity.

The multiplier with an embedded weight (default: 8-bit signed Booth, weight -45) is
simulated over uniform random activations (default 3,000, seed 0) with per-arc delays
from the delay calculation, as `dse simulate` and the sweep do, and priced by our energy
model. The same timed netlist is replayed in Icarus Verilog, and its VCD read by
OpenSTA (`read_vcd`, after 2.0.17) for `report_power`, with the same input slew,
output load and wire-load model. Printed: the ratio ours / OpenSTA in total and by
part, and per instance for the 20 largest consumers, with each net at the slew of our
delay calculation (what `dse simulate` uses), with the nominal input slew on every net,
and with OpenSTA's per-net slews handed to our model; `--gate-delays` simulates with the
older single rise/fall delay per gate instead.

    GATEDSE_OPENSTA=/path/to/sta .venv/bin/python benchmarks/energy_vs_opensta.py [--weight W] [--vectors N] [--gate-delays]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from cells.default import load_library
from cells.units import FJ_PER_J, PS_PER_S
from characterize.lut.activations import activation_sequence
from characterize.passes.designs import MultiplierSpec, embedded_designs, reference_design, smallest
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, annotate_arc_delays, annotate_delays, default_external_load
from characterize.timing.opensta_power import opensta_binary, pin_vcd, report_power, supports
from characterize.timing.power import energy_model, simulate_energy
from characterize.timing.timed_verilog import run_iverilog


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--arch", default="booth")
    parser.add_argument("--weight", type=int, default=-45)
    parser.add_argument("--vectors", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--library", type=Path)
    parser.add_argument("--top", type=int, default=20, help="instances compared one by one")
    parser.add_argument("--workdir", type=Path, help="keep the OpenSTA and Icarus files here")
    parser.add_argument("--gate-delays", action="store_true", help="one rise and fall delay per gate (older model)")
    args = parser.parse_args()
    binary = opensta_binary()
    if binary is None or not supports(binary, "read_vcd"):
        print("needs an OpenSTA with read_vcd: set GATEDSE_OPENSTA to its sta binary", file=sys.stderr)
        return 2
    if shutil.which("iverilog") is None:
        print("needs iverilog", file=sys.stderr)
        return 2

    library = load_library(args.library)
    spec = MultiplierSpec(args.bits, True, args.arch)
    design = smallest(embedded_designs(reference_design(spec, library), spec, args.weight, "simplify"))
    activations = activation_sequence(args.vectors + 1, spec.weights.start, spec.weights.stop - 1, args.seed, None)
    inputs = {"a": activations}
    if args.gate_delays:
        timed = annotate_delays(design)
    else:
        timed = annotate_arc_delays(calculate_delays(design, DEFAULT_INPUT_SLEW_S, default_external_load(library)))
    period_steps = timed.settle_bound_steps + 1
    period_s = period_steps * timed.resolution_s
    run = simulate_energy(timed, inputs)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gatedse-energy-"))
    icarus = run_iverilog(timed, inputs, workdir / "icarus", period_steps=period_steps)
    if not np.array_equal(icarus.toggles, run.result.toggles):
        print("warning: Icarus toggles differ from ours", file=sys.stderr)
    vcd = pin_vcd(design, workdir / "icarus" / "dump.vcd", workdir / "pins.vcd")
    # The VCD holds N + 1 vectors, one period each: OpenSTA's dynamic power over that time is our N operations.
    per_op = (args.vectors + 1) * period_s / args.vectors
    print(f"{design.name}: {len(design.instances)} cells, {args.vectors} transitions, period {period_s * PS_PER_S:.0f} ps, "
          f"{'gate' if args.gate_delays else 'arc'} delays, OpenSTA {binary}")
    names = [inst.name for inst in design.instances]
    for wire_load in (True, False):
        reference = report_power(design, vcd, workdir / f"opensta-wl{int(wire_load)}", "tb/dut",
                                 timed.input_slew_s, timed.external_load_f, period_s, binary, wire_load)
        theirs = np.array([reference.internal_w * per_op, reference.switching_w * per_op, reference.leakage_w * period_s])
        print(f"\nOpenSTA {'with the wire-load model set' if wire_load else 'as is (no wire-load model)'}")
        print(f"{'':28s}{'internal':>12s}{'switching':>12s}{'leakage':>12s}{'total':>12s}  (fJ/op)")
        print(f"{'OpenSTA report_power':28s}" + "".join(f"{v * FJ_PER_J:12.3f}" for v in theirs)
              + f"{theirs.sum() * FJ_PER_J:12.3f}")
        slews = _net_slews(design, reference.slews, timed.input_slew_s)
        models = [("ours, nominal slew", energy_model(design, run.activity, timed.input_slew_s, timed.external_load_f)),
                  ("ours, OpenSTA's slews", energy_model(design, run.activity, slews, timed.external_load_f))]
        if timed.net_slew_s is not None:
            models.insert(0, ("ours, delay-calc slews", run.model))
        for label, model in models:
            internal, switching = model.instance_energy_j(run.activity.toggles_per_op)
            ours = np.array([internal.sum(), switching.sum(), model.leakage_power_w * period_s])
            print(f"{label:28s}" + "".join(f"{v * FJ_PER_J:12.3f}" for v in ours) + f"{ours.sum() * FJ_PER_J:12.3f}")
            ratios = [o / t if t else float("nan") for o, t in zip(ours, theirs)]
            print(f"{'  ratio ours / OpenSTA':28s}" + "".join(f"{r:12.3f}" for r in ratios)
                  + f"{ours.sum() / theirs.sum():12.3f}")
            energy = internal + switching + model.leakage_w * period_s
            _per_instance(names, energy, reference, per_op, period_s, args.top)
    return 0


def _net_slews(design, slews: dict[str, tuple[float, float]], default_s: float) -> np.ndarray:
    """OpenSTA's rise and fall slew per net (2 × nets), `default_s` where it reports none."""
    table = np.full((2, len(design.nets)), default_s)
    for net, name in enumerate(design.nets):
        found = slews.get(name.lstrip("\\").strip())
        if found is not None:
            table[:, net] = found
    return table


def _per_instance(names, ours_j: np.ndarray, reference, per_op: float, period_s: float, top: int) -> None:
    theirs = np.array([(reference.instances[n][0] + reference.instances[n][1]) * per_op
                       + reference.instances[n][2] * period_s for n in names])
    order = np.argsort(-theirs)[:top]
    ratios = ours_j[order] / theirs[order]
    worst = order[np.argmax(np.abs(ratios - 1))]
    print(f"  per instance, {len(order)} largest: ratio min {ratios.min():.3f}, max {ratios.max():.3f}, "
          f"within 10 %: {int((np.abs(ratios - 1) <= 0.10).sum())}/{len(order)}; "
          f"farthest {names[worst]} {ours_j[worst] * FJ_PER_J:.2f} vs {theirs[worst] * FJ_PER_J:.2f} fJ/op")


if __name__ == "__main__":
    sys.exit(main())

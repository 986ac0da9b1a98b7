"""Sizing for area against sizing for delay on the embedded sweep: critical delay, area and energy per weight.

Usage: .venv/bin/python benchmarks/sizing.py [--bits 8] [--arch booth] [--library FILE] [--weights all|sample:N]
                                   [--vectors 2000] [--jobs 2]

Runs the embedded sweep twice into fresh caches, `size_for` area (the
reference run) and delay, on the full sky130 hd library by default
(`$GATEDSE_SHARED/liberty/sky130hd_tt.lib.gz`, else ../shared/liberty), and
prints for each the wall time, the spread over the weights (min, median, max)
of critical delay, area and energy per operation, the upsized cells, and the
per-weight ratios delay-sized / area-sized (median and range).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from characterize.lut.sampling import SAMPLE_PREFIX, sample_weights
from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.passes.designs import MultiplierSpec

SHARED = Path(os.environ.get("GATEDSE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
COLUMNS = (("critical_delay_ps", "critical delay", "ps"), ("area_um2", "area", "um2"),
           ("energy_per_op_fJ", "energy/op", "fJ"))


def spread(values: np.ndarray) -> str:
    return f"{values.min():.1f} / {np.median(values):.1f} / {values.max():.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--arch", default="booth")
    parser.add_argument("--library", default=str(SHARED / "liberty" / "sky130hd_tt.lib.gz"))
    parser.add_argument("--weights", default="all", help="all, or sample:N")
    parser.add_argument("--vectors", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    spec = MultiplierSpec(args.bits, True, args.arch)
    weights = (tuple(spec.weights) if args.weights == "all"
               else sample_weights(spec.weights, int(args.weights[len(SAMPLE_PREFIX):]), 0))
    print(f"{args.bits}-bit signed {args.arch}, embedded, {len(weights)} weights x {args.vectors} transitions, "
          f"{args.jobs} jobs, library {Path(args.library).name}")
    rows = {}
    for size_for in ("area", "delay"):
        config = SweepConfig(spec, "embedded", weights, vectors=args.vectors, library=args.library, size_for=size_for)
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            lut = run_sweep(config, jobs=args.jobs, cache_dir=cache, progress=False)
            wall = time.perf_counter() - start
        rows[size_for] = lut.weights
        reference = lut.reference
        print(f"== size for {size_for}: {wall:.1f} s; reference critical {reference['critical_delay_ps']:.0f} ps, "
              f"area {reference['area_um2']:.1f} um2, {reference['energy_per_op_fJ']:.1f} fJ/op")
        with_logic = rows[size_for][rows[size_for]["cells"] > 0]
        for column, name, unit in COLUMNS:
            print(f"  {name} min / median / max over weights with logic: {spread(with_logic[column].to_numpy())} {unit}")
        if size_for == "delay":
            upsized = rows[size_for]["upsized_cells"].to_numpy()
            print(f"  upsized cells per weight: {spread(upsized)}")
    logic = rows["area"]["cells"] > 0
    print("== delay-sized / area-sized, per weight with logic (median, min, max)")
    for column, name, _unit in COLUMNS:
        ratio = (rows["delay"][column][logic] / rows["area"][column][logic]).to_numpy()
        print(f"  {name}: x{np.median(ratio):.3f} (x{ratio.min():.3f} to x{ratio.max():.3f})")


if __name__ == "__main__":
    main()

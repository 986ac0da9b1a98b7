"""Time the full characterization sweep: every weight of a multiplier, both modes, into fresh caches.

Usage: .venv/bin/python benchmarks/sweep.py [--bits 8] [--arch array] [--vectors 10000] [--jobs 2]

Prints per mode the wall time, the simulated gate events per second, and the
figures the LUT gives: energy spread between the cheapest and the most
expensive weight and how many weights lie within 2x of the cheapest.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from characterize.lut.report import summarize
from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.passes.designs import MultiplierSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--arch", default="array")
    parser.add_argument("--unsigned", action="store_true")
    parser.add_argument("--vectors", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--modes", default="stationary,embedded")
    args = parser.parse_args()
    spec = MultiplierSpec(args.bits, not args.unsigned, args.arch)
    for mode in args.modes.split(","):
        config = SweepConfig(spec, mode, tuple(spec.weights), vectors=args.vectors)
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            lut = run_sweep(config, jobs=args.jobs, cache_dir=cache, progress=False)
            wall = time.perf_counter() - start
        rows = lut.weights
        events = (rows["toggles_per_op"].sum()) * args.vectors
        print(f"== {mode}: {len(rows)} weights x {args.vectors} transitions, {args.jobs} jobs: {wall:.1f} s "
              f"(~{events / wall / 1e6:.2f} M net toggles/s)")
        print(summarize(lut))


if __name__ == "__main__":
    main()

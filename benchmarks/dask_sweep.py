"""Sweeps on Dask against local processes, and what all 65,536 weights of a 16-bit multiplier would take.

Part 1: the full 8-bit sweep (256 weights, --vectors transitions) in both modes
with --jobs local processes and on a Dask LocalCluster of as many workers,
fresh caches each; the two LUTs are asserted identical.
Part 2: a 16-bit multiplier (embedded mode): time per weight in one process
over --weights16 weights of a stratified sample, the same weights on a
2-worker LocalCluster, and the projected time of all 65,536 weights on 1, 16
and 256 workers (time per weight / workers, divided by the parallel
efficiency measured on 2 workers).

    .venv/bin/python benchmarks/dask_sweep.py [--vectors 10000] [--jobs 2] [--weights16 16]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from characterize.lut.executors import KEEP_MALLOC_DEFAULTS, DaskExecutor
from characterize.lut.sampling import sample_weights
from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.passes.designs import MultiplierSpec


def timed_sweep(config: SweepConfig, jobs: int = 1, dask: DaskExecutor | None = None) -> tuple[float, object]:
    """Wall time and LUT of a sweep on a fresh cache: `jobs` local processes, or the Dask cluster of `dask`."""
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        lut = run_sweep(config, jobs=jobs, cache_dir=Path(cache), progress=False, dask=dask)
        return time.perf_counter() - start, lut


def same_lut(a, b) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        a.save(Path(folder) / "a.csv")
        b.save(Path(folder) / "b.csv")
        return all((Path(folder) / f"a{s}").read_bytes() == (Path(folder) / f"b{s}").read_bytes()
                   for s in (".csv", ".json", ".activations.csv"))


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--arch", default="array", help="8-bit architecture")
    parser.add_argument("--arch16", default="booth", help="16-bit architecture")
    parser.add_argument("--weights16", type=int, default=16, help="16-bit weights measured")
    parser.add_argument("--skip8", action="store_true", help="only the 16-bit part")
    args = parser.parse_args()

    import dask
    from dask.distributed import LocalCluster

    dask.config.set(KEEP_MALLOC_DEFAULTS)

    spec = MultiplierSpec(8, True, args.arch)
    for mode in () if args.skip8 else ("stationary", "embedded"):
        config = SweepConfig(spec, mode, tuple(spec.weights), vectors=args.vectors)
        local_s, local = timed_sweep(config, jobs=args.jobs)
        start = time.perf_counter()
        with LocalCluster(n_workers=args.jobs, threads_per_worker=1, dashboard_address=None) as cluster:
            started_s = time.perf_counter() - start
            dask_s, on_dask = timed_sweep(config, dask=DaskExecutor(cluster.scheduler_address))
        assert same_lut(local, on_dask), "the Dask LUT differs from the local one"
        print(f"8-bit {args.arch} {mode}, 256 weights x {args.vectors} transitions: {args.jobs} local processes "
              f"{local_s:.1f} s, Dask {args.jobs} workers {dask_s:.1f} s (+ {started_s:.1f} s to start the "
              f"LocalCluster), ratio {dask_s / local_s:.2f}; LUTs identical")

    spec16 = MultiplierSpec(16, True, args.arch16)
    sample = sample_weights(spec16.weights, 256, seed=0)
    weights = sample[:: len(sample) // args.weights16][: args.weights16]
    config = SweepConfig(spec16, "embedded", weights, vectors=args.vectors)
    serial_s, serial = timed_sweep(config)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        dask_s, on_dask = timed_sweep(config, dask=DaskExecutor(cluster.scheduler_address))
    assert same_lut(serial, on_dask), "the Dask LUT differs from the local one"
    items = len(weights) + 1  # the reference circuit too
    per_weight_s = serial_s / items
    efficiency = min(1.0, serial_s / (2 * dask_s))
    print(f"16-bit {args.arch16} embedded, {len(weights)} sampled weights + reference x {args.vectors} transitions: "
          f"1 process {serial_s:.1f} s ({per_weight_s:.2f} s per weight), Dask 2 workers {dask_s:.1f} s "
          f"(speed-up {serial_s / dask_s:.2f}, efficiency {efficiency:.2f}); LUTs identical")
    total = 65_536
    for workers in (1, 16, 256):
        scale = 1.0 if workers == 1 else efficiency
        print(f"  all {total:,} weights on {workers:>3} Dask worker(s): ~{hours(total * per_weight_s / workers / scale)}")


if __name__ == "__main__":
    main()

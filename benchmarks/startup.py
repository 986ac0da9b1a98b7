"""Fixed costs of a command, and `dse simulate` as a whole process against Icarus Verilog.

Every figure is the wall time of a fresh interpreter (best of --repeat). With
`--before SRC` (another checkout's `src/`, e.g. the main branch) each figure is
also measured on that code in the same run, and the ratio printed. Measured:

- `dse --help`;
- loading the default Liberty library (and the full sky130 hd library, when
  ../shared/liberty holds it), cold (an empty cache folder) and cached;
- the first read of a structural Verilog netlist (pyverilog's parser tables),
  cold and cached;
- reading a vectors CSV of 1,000,000 rows;
- `dse simulate` of the 8-bit signed Booth multiplier (weight held at -77)
  over 100,000 and 1,000,000 random transitions, against iverilog + vvp on
  the same timed netlist, per-arc delays as `dse simulate` computes them
  (`iverilog -gspecify`: compile + run; toggles asserted equal for each tree);
  best of --repeat runs with the netlist's delays in the cache, and of as many
  first runs, which compute them, the trees taking turns.

    .venv/bin/python benchmarks/startup.py [--before /path/to/other/src] [--transitions 100000,1000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SRC = Path(__file__).resolve().parents[1] / "src"
FULL_SKY130 = Path(__file__).resolve().parents[2] / "shared" / "liberty" / "sky130hd_tt.lib.gz"
WEIGHT = -77


def timed_process(args: list[str], src: Path, cache: Path, repeat: int) -> float:
    """Best wall time (s) of `python ARGS` with `src` on the path and `cache` as the user cache folder."""
    return timed_process_cpu(args, src, cache, repeat)[0]


def timed_process_cpu(args: list[str], src: Path, cache: Path, repeat: int) -> tuple[float, float]:
    """(best wall time, least CPU time, user + system of every thread) in s of `python ARGS`: on a shared
    machine the CPU time moves less with the load than the wall time."""
    env = dict(os.environ, PYTHONPATH=str(src), GATEDSE_CACHE_DIR=str(cache))
    best, least_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        least_cpu = min(least_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best, least_cpu


def cold_and_cached(code: str, src: Path, repeat: int) -> tuple[float, float]:
    """(first run with an empty cache folder, best later run) of `python -c CODE`."""
    with tempfile.TemporaryDirectory() as cache:
        cold = timed_process(["-c", code], src, Path(cache), 1)
        cached = timed_process(["-c", code], src, Path(cache), repeat)
    return cold, cached


def row(label: str, after: float, before: float | None) -> None:
    if before is None:
        print(f"{label:<58} {after:8.3f} s")
    else:
        print(f"{label:<58} {after:8.3f} s   before {before:8.3f} s   {before / after:6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, metavar="SRC", help="another checkout's src/ to compare with")
    parser.add_argument("--transitions", default="100000,1000000",
                        help="comma list of transition counts ('' skips the vectors and dse simulate)")
    parser.add_argument("--full-library", type=Path, default=FULL_SKY130, metavar="LIB",
                        help="a full Liberty library to time as well (default ../shared/liberty/sky130hd_tt.lib.gz)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    trees = {"after": SRC, **({"before": args.before.resolve()} if args.before else {})}

    def measure(label: str, function) -> None:
        results = {name: function(src) for name, src in trees.items()}
        row(label, results["after"], results.get("before"))

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"best of {args.repeat}")
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        cache = work / "cache"
        measure("dse --help", lambda src: timed_process(["-m", "dse.cli", "--help"], src, cache, args.repeat))

        load_default = "from cells.default import load_library; load_library()"
        pairs = {name: cold_and_cached(load_default, src, args.repeat) for name, src in trees.items()}
        row("load the default library, cold", pairs["after"][0], pairs.get("before", (None,))[0])
        row("load the default library, cached", pairs["after"][1], pairs.get("before", (None, None))[1])
        if args.full_library.exists():
            load_full = f"from cells.default import load_library; load_library({str(args.full_library)!r})"
            pairs = {name: cold_and_cached(load_full, src, args.repeat) for name, src in trees.items()}
            name = args.full_library.name
            row(f"load {name}, cold", pairs["after"][0], pairs.get("before", (None,))[0])
            row(f"load {name}, cached", pairs["after"][1], pairs.get("before", (None, None))[1])

        netlist = work / "booth8.v"
        subprocess.run([sys.executable, "-m", "dse.cli", "netlist", "--bits", "8", "--arch", "booth", "-o", str(netlist)],
                       env=dict(os.environ, PYTHONPATH=str(SRC), GATEDSE_CACHE_DIR=str(cache)), check=True,
                       capture_output=True)
        read_netlist = (
            "import time; from cells.default import load_library; lib = load_library()\n"
            "from characterize.netlist.verilog import read_verilog\n"
            f"start = time.perf_counter(); read_verilog({str(netlist)!r}, lib)\n"
            "print(time.perf_counter() - start)\n"
        )
        first_read = {}
        for name, src in trees.items():
            with tempfile.TemporaryDirectory() as fresh:
                env = dict(os.environ, PYTHONPATH=str(src), GATEDSE_CACHE_DIR=fresh)
                runs = [float(subprocess.run([sys.executable, "-c", read_netlist], env=env, check=True,
                                             capture_output=True, text=True).stdout) for _ in range(args.repeat + 1)]
            first_read[name] = (runs[0], min(runs[1:]))
        row("first read_verilog in a process, cold", first_read["after"][0], first_read.get("before", (None,))[0])
        row("first read_verilog in a process, cached", first_read["after"][1],
            first_read.get("before", (None, None))[1])

        counts = [int(t) for t in args.transitions.split(",") if t.strip()]
        if not counts:
            return
        rng = np.random.default_rng(1)
        vectors = {}
        for count in counts:
            path = work / f"vectors_{count}.csv"
            activations = rng.integers(-128, 128, count + 1)
            pd.DataFrame({"a": activations, "w": np.full(count + 1, WEIGHT)}).to_csv(path, index=False)
            vectors[count] = path
        largest = vectors[max(counts)]
        small = work / "vectors_small.csv"
        small.write_text("a,w\n1,-77\n2,-77\n")
        read_code = (  # the ports from the generator, before the clock starts
            "import time; from pathlib import Path\n"
            "from characterize.generators import multiplier; ports = multiplier(8, True, 'booth').inputs\n"
            "from characterize.timing.vectors import read_vectors\n"
            f"read_vectors(Path({str(small)!r}), ports)  # the reader loaded (numba or pandas), as dse simulate has it\n"
            f"start = time.perf_counter(); read_vectors(Path({str(largest)!r}), ports)\n"
            "print(time.perf_counter() - start)\n"
        )

        def read_vectors_s(src: Path) -> float:
            env = dict(os.environ, PYTHONPATH=str(src), GATEDSE_CACHE_DIR=str(cache))
            return min(float(subprocess.run([sys.executable, "-c", read_code], env=env, check=True,
                                            capture_output=True, text=True).stdout) for _ in range(args.repeat))

        measure(f"read_vectors of {max(counts):,} rows", read_vectors_s)

        from cells.default import load_library
        from characterize.netlist.verilog import read_verilog
        from characterize.timing.delaycalc import calculate_delays
        from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, annotate_arc_delays, default_external_load
        from characterize.timing.timed_verilog import run_iverilog

        library = load_library()
        design = read_verilog(netlist, library)  # timed as dse simulate times it: per-arc delays at the default slew
        timed = annotate_arc_delays(calculate_delays(design, DEFAULT_INPUT_SLEW_S, default_external_load(library)))
        for count in counts:
            simulate = {name: ["-m", "dse.cli", "simulate", str(netlist), "--inputs", str(vectors[count]),
                               "--toggles", str(work / f"toggles_{name}_{count}.csv")] for name in trees}
            for name, src in trees.items():
                timed_process(simulate[name], src, cache, 1)  # numba's compiled code cached, files read once
            first_runs, runs = {name: [] for name in trees}, {name: [] for name in trees}
            for _ in range(args.repeat):  # the trees take turns, so that the load of a shared machine weighs alike
                for name, src in trees.items():
                    shutil.rmtree(cache / "delays", ignore_errors=True)  # a netlist's first run computes its delays
                    first_runs[name].append(timed_process(simulate[name], src, cache, 1))
                    runs[name].append(timed_process_cpu(simulate[name], src, cache, 1))
            first = {name: min(r) for name, r in first_runs.items()}
            ours = {name: min(wall for wall, _ in r) for name, r in runs.items()}
            cpu = {name: min(cpu_s for _, cpu_s in r) for name, r in runs.items()}
            frame = pd.read_csv(vectors[count])
            inputs = {"a": frame["a"].to_numpy(), "w": frame["w"].to_numpy()}
            with tempfile.TemporaryDirectory() as icarus_dir:
                reference = run_iverilog(timed, inputs, icarus_dir, vcd=count <= 200_000)
            icarus_s = reference.compile_s + reference.run_s
            for name in trees:
                ours_toggles = pd.read_csv(work / f"toggles_{name}_{count}.csv")["toggles"].to_numpy()
                assert np.array_equal(ours_toggles, reference.toggles[2:]), f"{name}: toggles differ from Icarus Verilog"
            how = "VCD of every net" if count <= 200_000 else "toggles counted in the testbench"
            print(f"dse simulate, {count:,} transitions: {ours['after']:.2f} s whole process"
                  + (f" (before {ours['before']:.2f} s)" if "before" in ours else "")
                  + f"; iverilog -gspecify + vvp ({how}) {icarus_s:.2f} s; toggles equal")
            print(f"  CPU time (user + system, all threads): {cpu['after']:.2f} s"
                  + (f" (before {cpu['before']:.2f} s)" if "before" in cpu else ""))
            print(f"  first run of the netlist (delays computed, not read from the cache): {first['after']:.2f} s"
                  + (f" (before {first['before']:.2f} s)" if "before" in first else ""))
            print(f"  ratio iverilog / dse simulate: {icarus_s / ours['after']:.1f}x"
                  + (f" (before {icarus_s / ours['before']:.1f}x)" if "before" in ours else "")
                  + f"; first run {icarus_s / first['after']:.1f}x"
                  + (f" (before {icarus_s / first['before']:.1f}x)" if "before" in first else ""))
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

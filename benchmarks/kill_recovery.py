"""Kill studies and sweeps at random moments and count what survives: nothing lost, nothing repeated.

Usage: .venv/bin/python benchmarks/kill_recovery.py [--kills 20] [--trials 30] [--seed 0]
       [--storages sqlite,journal,postgresql] [--bits 5] [--vectors 1000] [--no-sweep]

Studies: three `dse study run` workers share one study of the analytic toy kind
(each trial sleeps a second) on each storage; `--kills` times, at a random
moment, a random worker gets SIGKILL and a new one starts in its place; then
the workers finish and one more run resumes the study. Printed per storage:
trials requested, completed, failed (the kills' trials in flight), duplicated
(completed trials with the same parameters as another) and lost (completed
trials seen before a kill that are no longer complete, or have changed).
PostgreSQL runs where a throwaway server can start (tests/dse/pgserver.py).

Sweeps: two `dse characterize --jobs 2` processes share one cache; `--kills`
times a random one gets SIGKILL, at a random moment up to 3 s after its pool
workers started, and is restarted; then both finish. Printed:
items requested, cache entries complete, entries unreadable, entries computed
twice (rewritten after they were complete), lost (complete, then gone), pool
workers left alive, and whether both LUTs equal an uninterrupted reference run
byte for byte.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

import psutil
from optuna.trial import TrialState

from dse.errors import StudyError
from dse.storage import load_study
from tests.dse.pgserver import PostgresUnavailable, throwaway_postgres
from tests.dse.toykind import write_study

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
WORKERS = 3
KILL_GAP_S = (1.0, 6.0)


def study_worker(path: Path, url: str) -> subprocess.Popen:
    code = ("import sys, tests.dse.toykind; from dse.cli import main; "
            f"sys.exit(main(['study', 'run', {str(path)!r}, '--storage', {url!r}]))")
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def completed_values(url: str) -> dict[int, tuple]:
    try:
        trials = load_study("toy-study", url).get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    except StudyError:
        return {}
    return {t.number: (tuple(t.values), tuple(sorted(t.params.items()))) for t in trials}


def kill_study(url: str, folder: Path, trials: int, kills: int, rng: random.Random) -> dict:
    flag = folder / "slow"
    flag.touch()
    path = write_study(folder, trials=trials, space=f'sleep_while = "{flag}"')
    workers = [study_worker(path, url) for _ in range(WORKERS)]
    seen: dict[int, tuple] = {}
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(*KILL_GAP_S))
            seen.update(completed_values(url))
            index = rng.randrange(WORKERS)
            workers[index].kill()
            workers[index].wait()
            workers[index] = study_worker(path, url)
        for worker in workers:
            worker.wait(timeout=600)
        final = study_worker(path, url)  # resumes whatever the killed workers left
        final.wait(timeout=600)
    finally:
        for worker in workers:
            worker.kill()
    study = load_study("toy-study", url)
    states = [t.state for t in study.trials]
    complete = completed_values(url)
    samples = [params for _values, params in complete.values()]
    return {
        "requested": trials,
        "completed": states.count(TrialState.COMPLETE),
        "failed": states.count(TrialState.FAIL),
        "running": states.count(TrialState.RUNNING),
        "duplicated": len(samples) - len(set(samples)),
        "lost": sum(complete.get(n) != v for n, v in seen.items()),
    }


def sweep_command(cache: Path, output: Path, bits: int, vectors: int) -> list[str]:
    return [sys.executable, "-m", "dse.cli", "characterize", "--bits", str(bits), "--mode", "embedded",
            "--vectors", str(vectors), "--jobs", "2", "--cache", str(cache), "-o", str(output)]


def _alive(process: psutil.Process) -> bool:
    """Running and not a zombie."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def entries(cache: Path) -> dict[str, int]:
    """Complete cache entries by name, with their inode (a rewrite gives a new one)."""
    found = {}
    for path in cache.glob("[!.]*.json"):
        try:
            json.loads(path.read_bytes())
            found[path.name] = path.stat().st_ino
        except (OSError, ValueError):
            pass
    return found


class CacheWatch:
    """Polls a cache folder: entries seen complete, and those rewritten (computed again) after that."""

    def __init__(self, cache: Path):
        self.cache = cache
        self.seen: dict[str, int] = {}
        self.rewritten: set[str] = set()

    def poll(self) -> None:
        now = entries(self.cache)
        self.rewritten |= {name for name, inode in now.items() if name in self.seen and self.seen[name] != inode}
        self.seen.update(now)

    def watch(self, seconds: float, until=lambda: False) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            self.poll()
            time.sleep(0.1)


def kill_sweep(folder: Path, kills: int, bits: int, vectors: int, rng: random.Random) -> dict:
    """Each kill lands on a sweep whose pool workers run, at a random moment 0-3 s after they started."""
    reference = folder / "reference.csv"
    start = time.perf_counter()
    subprocess.run(sweep_command(folder / "reference-cache", reference, bits, vectors), env=ENV, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reference_s = time.perf_counter() - start
    cache = folder / "cache"
    watch = CacheWatch(cache)
    outputs = [folder / f"lut{i}.csv" for i in range(2)]

    def start_sweep(index: int) -> subprocess.Popen:
        return subprocess.Popen(sweep_command(cache, outputs[index], bits, vectors), env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    sweeps = [start_sweep(i) for i in range(2)]
    orphans: list[psutil.Process] = []
    landed = 0
    try:
        for _ in range(kills):
            index = rng.randrange(2)
            sweep = sweeps[index]
            watch.watch(300, until=lambda s=sweep: s.poll() is not None or len(psutil.Process(s.pid).children()) >= 2)
            watch.watch(rng.uniform(0.0, 3.0), until=lambda s=sweep: s.poll() is not None)
            if sweep.poll() is None:
                children = psutil.Process(sweep.pid).children()
                landed += bool(children)
                sweep.send_signal(signal.SIGKILL)
                sweep.wait()
                watch.watch(2.0)  # time for the workers to notice
                orphans += [c for c in children if _alive(c)]
            sweeps[index] = start_sweep(index)
        watch.watch(1200, until=lambda: all(s.poll() is not None for s in sweeps))
        codes = [s.wait(timeout=60) for s in sweeps]
    finally:
        for s in sweeps:
            s.kill()
        for process in orphans:
            if _alive(process):
                process.kill()
    watch.poll()
    final = entries(cache)
    same = all(o.read_bytes() == reference.read_bytes() and
               o.with_name(o.stem + ".activations.csv").read_bytes() ==
               reference.with_name("reference.activations.csv").read_bytes() for o in outputs)
    return {
        "requested": (1 << bits) + 1,
        "kills with workers running": landed,
        "completed": len(final),
        "unreadable": len(list(cache.glob("[!.]*.json"))) - len(final),
        "computed twice": len(watch.rewritten),
        "lost": sum(name not in final for name in watch.seen),
        "orphan workers": len(orphans),
        "exit codes": codes,
        "LUTs equal the reference": same,
        "reference run s": round(reference_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--storages", default="sqlite,journal,postgresql")
    parser.add_argument("--bits", type=int, default=5)
    parser.add_argument("--vectors", type=int, default=1000)
    parser.add_argument("--no-sweep", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"studies: {WORKERS} workers, {args.kills} kills at random moments {KILL_GAP_S[0]}-{KILL_GAP_S[1]} s apart")
    for storage in filter(None, args.storages.split(",")):
        with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
            folder = Path(folder)
            if storage == "sqlite":
                url = f"sqlite:///{folder}/studies.db"
            elif storage == "journal":
                url = f"journal:///{folder}/studies.log"
            else:
                try:
                    url = stack.enter_context(throwaway_postgres())
                except PostgresUnavailable as exc:
                    print(f"  {storage:<10} skipped: {exc}")
                    continue
            start = time.perf_counter()
            figures = kill_study(url, folder, args.trials, args.kills, rng)
            shown = ", ".join(f"{k} {v}" for k, v in figures.items())
            print(f"  {storage:<10} {shown} ({time.perf_counter() - start:.0f} s)")
    if args.no_sweep:
        return
    print(f"sweep: {args.bits}-bit embedded, {args.vectors} vectors, two `--jobs 2` sweeps on one cache, "
          f"{args.kills} kills")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        figures = kill_sweep(Path(folder), args.kills, args.bits, args.vectors, rng)
        print("  " + ", ".join(f"{k} {v}" for k, v in figures.items()) + f" ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()

"""Sweeps under crashes and concurrency: cut-off cache entries, shared caches, killed parents, LUT files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from characterize.lut.sweep import SweepConfig, cache_key, run_sweep
from characterize.lut.table import Lut, LutError
from characterize.passes.designs import MultiplierSpec
from dse.cli import main

REPO = Path(__file__).resolve().parents[2]
SPEC = MultiplierSpec(4, True, "array")
TIMEOUT_S = 120


def small(**changes) -> SweepConfig:
    fields = dict(spec=SPEC, mode="embedded", weights=(-3, 1, 2), vectors=60, seed=4)
    fields.update(changes)
    return SweepConfig(**fields)


def test_cut_off_cache_entry_is_recomputed_and_replaced(tmp_path):
    config = small()
    first = run_sweep(config, cache_dir=tmp_path, progress=False)
    entry = tmp_path / f"{cache_key(config, 2)}.json"
    whole = entry.read_text()
    os.truncate(entry, 100)
    again = run_sweep(config, cache_dir=tmp_path, progress=False)
    assert again.table.equals(first.table)
    assert entry.read_text() == whole
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_killed_sweep_leaves_no_pool_workers(tmp_path):
    command = [sys.executable, "-m", "dse.cli", "characterize", "--bits", "6", "--mode", "embedded", "--jobs", "2",
               "--vectors", "3000", "--cache", str(tmp_path / "cache"), "-o", str(tmp_path / "lut.csv")]
    parent = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = psutil.Process(parent.pid).children()
            time.sleep(0.1)
        assert len(workers) == 2, "the sweep did not start its two workers"
        time.sleep(1.0)  # let them start on their weights
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=TIMEOUT_S)
        _, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, "pool workers outlived their killed parent"
    finally:
        parent.kill()
        for worker in workers:
            if worker.is_running():
                worker.kill()


SWEEP_AFTER_GO = """
import json, sys, time
from pathlib import Path
from characterize.lut import sweep
from characterize.passes.designs import MultiplierSpec
computed = []
run = sweep._Characterizer.run
sweep._Characterizer.run = lambda self, item: computed.append(item) or run(self, item)  # count, then compute
config = sweep.SweepConfig(spec=MultiplierSpec(4, True, "array"), mode="embedded", weights=tuple(range(-8, 8)),
                           vectors=600, seed=9)
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.01)
lut = sweep.run_sweep(config, cache_dir=Path(sys.argv[2]), progress=False)
print(json.dumps({"computed": [str(i) for i in computed], "rows": len(lut.table)}))
"""


def test_two_sweeps_sharing_a_cache_compute_each_weight_once(tmp_path):
    go, cache = tmp_path / "go", tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    sweeps = [subprocess.Popen([sys.executable, "-c", SWEEP_AFTER_GO, str(go), str(cache)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        time.sleep(0.5)
        go.touch()
        outputs = [json.loads(s.communicate(timeout=TIMEOUT_S)[0]) for s in sweeps]
    finally:
        for s in sweeps:
            s.kill()
    computed = [item for output in outputs for item in output["computed"]]
    assert sorted(computed) == sorted(["reference", *map(str, range(-8, 8))])  # each item once, by one of them
    assert all(output["rows"] == 17 for output in outputs)
    assert min(len(output["computed"]) for output in outputs) > 0  # both worked
    assert not list(cache.glob("*.lock"))


def saved_lut(tmp_path: Path, name: str = "lut.csv") -> Path:
    run_sweep(small(), cache_dir=tmp_path / "cache", progress=False).save(tmp_path / name)
    return tmp_path / name


def test_sidecar_records_each_tables_rows_and_hash(tmp_path):
    path = saved_lut(tmp_path)
    record = json.loads(path.with_suffix(".json").read_text())["files"]
    assert record["table"]["rows"] == 4 and record["activations"]["rows"] > 3
    assert len(record["table"]["sha256"]) == 64
    assert "files" not in Lut.load(path).meta


@pytest.mark.parametrize("victim", ["lut.csv", "lut.activations.csv"])
def test_cut_off_lut_file_is_rejected_naming_it(tmp_path, capsys, victim):
    path = saved_lut(tmp_path)
    os.truncate(tmp_path / victim, (tmp_path / victim).stat().st_size - 30)
    with pytest.raises(LutError, match=rf"{tmp_path / victim}: does not match lut.json"):
        Lut.load(path)
    assert main(["lut", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dse: error: {tmp_path / victim}:") and err.count("\n") == 1


def test_lut_file_from_another_run_is_rejected(tmp_path):
    path = saved_lut(tmp_path)
    run_sweep(small(seed=5), cache_dir=tmp_path / "cache", progress=False).save(tmp_path / "other.csv")
    (tmp_path / "other.csv").replace(path)  # new table beside the old sidecar, as a crash between renames leaves it
    with pytest.raises(LutError, match="does not match lut.json"):
        Lut.load(path)


@pytest.mark.parametrize("name", ["clash.json", "lut.activations.csv", "lut"])
def test_output_names_that_collide_with_sidecars_are_refused(tmp_path, capsys, name):
    assert main(["characterize", "--bits", "3", "--mode", "embedded", "--vectors", "20",
                 "--cache", str(tmp_path / "cache"), "-o", str(tmp_path / name)]) == 2
    assert "a LUT file name must end in .csv" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists() and sorted(tmp_path.iterdir()) == []


def test_empty_activation_table_without_record_is_one_line(tmp_path, capsys):
    path = saved_lut(tmp_path)
    path.with_suffix(".json").unlink()  # a hand-made LUT: no record to check against
    (tmp_path / "lut.activations.csv").write_text("")
    assert main(["lut", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dse: error: {tmp_path / 'lut.activations.csv'}: not a readable CSV") and err.count("\n") == 1


@pytest.mark.parametrize("rows,message", [
    ("0,5\nabc,3\n", "hist.csv:3: activation value abc is not an integer in [-8, 7]"),
    ("0,5\n1,many\n", "hist.csv:3: count many is negative or not a number"),
    ("", "hist.csv: no rows after the header"),
])
def test_bad_histogram_rows_are_one_line(tmp_path, capsys, rows, message):
    histogram = tmp_path / "hist.csv"
    histogram.write_text("value,count\n" + rows)
    assert main(["characterize", "--bits", "4", "--mode", "embedded", "--activations", str(histogram),
                 "--cache", str(tmp_path / "cache"), "-o", str(tmp_path / "l.csv")]) == 2
    assert capsys.readouterr().err == f"dse: error: {tmp_path}/{message}\n"

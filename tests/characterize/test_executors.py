"""Sweeps on a Dask cluster: the same LUT, byte for byte, as a local run, even when a worker is killed."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from characterize.lut.executors import DaskExecutor
from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.passes.designs import MultiplierSpec
from dse.cli import main

distributed = pytest.importorskip("dask.distributed", reason="the dask extra is not installed")

LUT_FILES = (".csv", ".json", ".activations.csv")
CONFIG = SweepConfig(MultiplierSpec(4, True, "array"), "embedded", tuple(range(-8, 8)), vectors=500, seed=3)


def saved(lut, path) -> dict[str, bytes]:
    lut.save(path / "lut.csv")
    return {suffix: (path / f"lut{suffix}").read_bytes() for suffix in LUT_FILES}


@pytest.fixture(scope="module")
def local_files(tmp_path_factory):
    """The LUT files of the sweep run in this process."""
    folder = tmp_path_factory.mktemp("local")
    return saved(run_sweep(CONFIG, cache_dir=folder / "cache", progress=False), folder)


def test_local_cluster_of_two_workers_writes_the_local_lut(tmp_path, local_files):
    command = ["characterize", "--bits", "4", "--mode", "embedded", "--vectors", "500", "--seed", "3",
               "--dask", "local", "--jobs", "2", "--cache", str(tmp_path / "cache"), "-o", str(tmp_path / "lut.csv")]
    assert main(command) == 0
    assert {suffix: (tmp_path / f"lut{suffix}").read_bytes() for suffix in LUT_FILES} == local_files


def test_process_pool_writes_the_local_lut(tmp_path, local_files):
    lut = run_sweep(CONFIG, cache_dir=tmp_path / "cache", progress=False, jobs=2)
    assert saved(lut, tmp_path) == local_files


def test_worker_killed_mid_sweep_loses_only_its_tasks(tmp_path, local_files):
    cache = tmp_path / "cache"
    items = len(CONFIG.weights) + 1
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        killed: dict[str, int] = {}

        def kill_one_worker_after_the_first_result() -> None:
            deadline = time.time() + 120
            while time.time() < deadline and not list(cache.glob("*.json")):
                time.sleep(0.01)
            killed["done_before"] = len(list(cache.glob("*.json")))
            os.kill(pids[0], signal.SIGKILL)
            killed["pid"] = pids[0]

        killer = threading.Thread(target=kill_one_worker_after_the_first_result)
        killer.start()
        with ThreadPoolExecutor(1) as runner:
            sweep = runner.submit(run_sweep, CONFIG, cache_dir=cache, progress=False,
                                  dask=DaskExecutor(cluster.scheduler_address))
            lut = sweep.result(timeout=240)
        killer.join(timeout=10)
        assert killed.get("pid") == pids[0] and killed["done_before"] < items, "the worker died after the sweep"
        assert pids[0] not in client.run(os.getpid).values()
    assert saved(lut, tmp_path) == local_files

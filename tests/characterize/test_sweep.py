"""The characterization sweep: LUT contents, cache hits, resumption after a killed process."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from cells.default import default_library_path
from characterize.errors import SimulationError
from characterize.lut.sweep import SweepConfig, cache_key, run_sweep
from characterize.lut.table import LUT_COLUMNS, Lut
from characterize.passes.designs import MultiplierSpec
from dse.cli import main
from dse.costmodel import LayerStats, cost_report, nominal_voltage
from tests.conftest import shared_file

SPEC = MultiplierSpec(4, True, "array")


def config(mode: str, **changes) -> SweepConfig:
    fields = dict(spec=SPEC, mode=mode, weights=tuple(range(-8, 8)), vectors=300, seed=1)
    fields.update(changes)
    return SweepConfig(**fields)


@pytest.fixture(scope="module")
def luts(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return {mode: run_sweep(config(mode), cache_dir=cache, progress=False) for mode in ("stationary", "embedded")}


def test_lut_has_a_row_per_weight_and_a_reference(luts):
    for mode, lut in luts.items():
        assert list(lut.table.columns) == list(LUT_COLUMNS)
        assert lut.table["weight"].isna().sum() == 1
        assert sorted(lut.weights.index) == list(range(-8, 8))
        assert set(lut.weights["mode"]) == {mode}
        assert lut.meta["vectors"] == 300 and lut.meta["seed"] == 1


def test_embedding_never_costs_more_area_than_the_reference(luts):
    embedded = luts["embedded"]
    assert (embedded.weights["area_um2"] <= embedded.reference["area_um2"]).all()
    zero = embedded.weights.loc[0]
    assert zero["cells"] == 0 and zero["energy_per_op_fJ"] == 0 and zero["glitches_per_op"] == 0


def test_stationary_weights_share_the_reference_circuit(luts):
    stationary = luts["stationary"]
    assert (stationary.weights["area_um2"] == stationary.reference["area_um2"]).all()
    # the weight that multiplies by zero still switches the activation nets, but far less logic
    assert stationary.weights.loc[0, "energy_per_op_fJ"] < stationary.weights["energy_per_op_fJ"].median()


def test_activation_table_agrees_with_the_rows(luts):
    lut = luts["embedded"]
    table = lut.activations
    for weight, row in lut.weights.iterrows():
        part = table[table["weight"] == weight]
        assert part["transitions"].sum() == 300
        mean = (part["transitions"] * part["mean_energy_fJ"]).sum() / 300
        assert mean == pytest.approx(row["energy_per_op_fJ"])
        assert part["max_sensitized_delay_ps"].max() == pytest.approx(row["max_sensitized_delay_ps"])
        assert row["max_sensitized_delay_ps"] <= row["critical_delay_ps"]


def test_lut_records_the_corner_and_hash_of_its_library(luts, tmp_path):
    path = shared_file("nangate45_typ.lib.gz")
    nangate = run_sweep(SweepConfig(MultiplierSpec(2, True, "array"), "embedded", (1, -1), vectors=50, library=str(path)),
                        cache_dir=tmp_path, progress=False)
    nangate.save(tmp_path / "lut.csv")
    loaded = Lut.load(tmp_path / "lut.csv")
    assert loaded.meta["voltage_V"] == pytest.approx(1.1) and loaded.meta["temperature_C"] == pytest.approx(25.0)
    assert loaded.meta["library_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert nominal_voltage(loaded) == pytest.approx(1.1)
    report = cost_report(loaded, [LayerStats("layer", np.array([1, -1]), 1)])  # voltage scaling from 1.1 V
    assert report.voltage_nominal_V == pytest.approx(1.1) and report.voltage_V <= 1.1
    assert report.power_scaled_W == pytest.approx(report.power_W * (report.voltage_V / 1.1) ** 2)
    sky130 = luts["embedded"]
    assert nominal_voltage(sky130) == pytest.approx(1.8)
    assert sky130.meta["library_sha256"] == hashlib.sha256(default_library_path().read_bytes()).hexdigest()


def test_lut_save_and_load_round_trip(luts, tmp_path):
    lut = luts["embedded"]
    lut.save(tmp_path / "lut.csv")
    loaded = Lut.load(tmp_path / "lut.csv")
    pd.testing.assert_frame_equal(loaded.weights, lut.weights)
    assert loaded.meta == json.loads(json.dumps(lut.meta))
    assert len(loaded.activations) == len(lut.activations)


def test_rerun_reads_the_cache(tmp_path):
    small = config("embedded", weights=(-3, 2), vectors=50)
    first = run_sweep(small, cache_dir=tmp_path, progress=False)
    path = tmp_path / f"{cache_key(small, 2)}.json"
    cached = json.loads(path.read_text())
    cached["row"]["energy_per_op_fJ"] = 12345.0
    path.write_text(json.dumps(cached))
    second = run_sweep(small, cache_dir=tmp_path, progress=False)
    assert second.weights.loc[2, "energy_per_op_fJ"] == 12345.0
    assert second.weights.loc[-3, "energy_per_op_fJ"] == first.weights.loc[-3, "energy_per_op_fJ"]


def test_changed_settings_miss_the_cache():
    assert cache_key(config("embedded"), 3) != cache_key(config("embedded", seed=2), 3)
    assert cache_key(config("embedded"), 3) != cache_key(config("stationary"), 3)
    assert cache_key(config("embedded"), 3) == cache_key(config("embedded", weights=(3,)), 3)


def test_killed_sweep_resumes_without_recomputing(tmp_path):
    cache = tmp_path / "cache"
    command = [sys.executable, "-m", "dse.cli", "characterize", "--bits", "6", "--mode", "embedded",
               "--vectors", "3000", "--cache", str(cache), "-o", str(tmp_path / "lut.csv")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(cache.glob("[!.]*.json"))) < 4:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = sorted(cache.glob("[!.]*.json"))  # not the partial file of the entry in flight
    assert 4 <= len(finished) < 65, "the sweep should have been killed part-way"
    for path in finished:
        data = json.loads(path.read_text())
        data["row"]["glitches_per_op"] = -1.0  # a value no computation gives
        path.write_text(json.dumps(data))
    assert main(command[3:]) == 0
    lut = Lut.load(tmp_path / "lut.csv")
    marked = int((lut.table["glitches_per_op"] == -1.0).sum())
    assert marked == len(finished)
    assert len(lut.weights) == 64


def test_bad_sweep_settings_are_rejected():
    with pytest.raises(SimulationError, match="mode"):
        config("sideways")
    with pytest.raises(SimulationError, match="vectors"):
        config("embedded", vectors=0)
    with pytest.raises(Exception, match="out of range"):
        config("embedded", weights=(8,))


def test_histogram_drives_the_activations(tmp_path):
    histogram = tmp_path / "hist.csv"
    histogram.write_text("value,count\n0,90\n3,10\n")
    assert main(["characterize", "--bits", "4", "--mode", "embedded", "--weights", "1,2", "--vectors", "200",
                 "--activations", str(histogram), "--cache", str(tmp_path / "c"), "-o", str(tmp_path / "l.csv")]) == 0
    table = Lut.load(tmp_path / "l.csv").activations
    assert set(table["activation"]) <= {0, 3}
    share = table[table["activation"] == 0]["transitions"].sum() / table["transitions"].sum()
    assert 0.8 < share < 0.97
    histogram.write_text("value,count\n0,90\n99,10\n")
    assert main(["characterize", "--bits", "4", "--mode", "embedded", "--activations", str(histogram),
                 "-o", str(tmp_path / "l.csv")]) == 2


def test_uniform_activations_cover_the_range(luts):
    table = luts["stationary"].activations
    assert set(np.unique(table["activation"])) == set(range(-8, 8))


def test_a_given_activation_sequence_is_what_the_multiplier_sees(tmp_path):
    # A held activation never switches the multiplier: only leakage is left. A sequence that keeps changing
    # costs more, and the cache tells the two sequences apart by their content.
    held = (5,) * 41
    busy = tuple([5, -6] * 20 + [5])
    weights = (3,)
    lut_held = run_sweep(config("stationary", weights=weights, vectors=40, sequence=held), cache_dir=tmp_path,
                         progress=False)
    lut_busy = run_sweep(config("stationary", weights=weights, vectors=40, sequence=busy), cache_dir=tmp_path,
                         progress=False)
    held_row, busy_row = lut_held.weights.loc[3], lut_busy.weights.loc[3]
    assert held_row["toggles_per_op"] == 0
    assert held_row["energy_per_op_fJ"] == pytest.approx(held_row["leakage_nW"] * 1e-9 * lut_held.meta["period_ps"]
                                                         * 1e-12 * 1e15)
    assert busy_row["energy_per_op_fJ"] > 10 * held_row["energy_per_op_fJ"]
    assert set(lut_busy.activations["activation"]) == {5, -6}
    assert lut_busy.meta["activations"] == "sequence"
    assert lut_busy.meta["activation_sequence_sha256"] != lut_held.meta["activation_sequence_sha256"]


def test_a_sequence_must_fit_the_vectors_and_the_operand_range():
    with pytest.raises(SimulationError, match="needs 11 values, got 3"):
        config("stationary", vectors=10, sequence=(1, 2, 3))
    with pytest.raises(SimulationError, match="activation 9 of the sequence is outside -8..7"):
        config("stationary", vectors=2, sequence=(1, 9, 3))

"""The demo runs end to end on a small multiplier and writes every file it announces."""

from __future__ import annotations

import pandas as pd

from characterize.passes.designs import MultiplierSpec
from dse.demo import run_demo


def test_demo_writes_luts_fronts_and_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    files = run_demo(out, jobs=1, vectors=100, trials=3, cache_dir=tmp_path / "cache", spec=MultiplierSpec(4, True, "array"), seed=3)
    names = {p.name for p in files}
    assert {"lut_stationary.csv", "lut_embedded.png", "front_weight_subset.png", "front_logic_area.csv",
            "weight_subset.toml", "summary.txt"} <= names
    assert all(p.exists() and p.stat().st_size > 0 for p in files)
    front = pd.read_csv(out / "front_weight_subset.csv")
    assert {"accuracy", "energy_per_inference_nJ", "power_scaled_uW"} <= set(front.columns)
    area_front = pd.read_csv(out / "front_logic_area.csv")
    assert "param:tolerance_points" in area_front.columns  # the tolerance is searched, so the front is a trade-off
    summary = (out / "summary.txt").read_text()
    assert "== study demo-weight-subset" in summary and "baseline: accuracy" in summary
    assert (out / "studies.db").exists()
    assert "seed = 3" in (out / "weight_subset.toml").read_text()

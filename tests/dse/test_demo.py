"""The demo runs end to end on a small multiplier and writes every file it announces; the README quotes its output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from characterize.passes.designs import MultiplierSpec
from dse.demo import run_demo, transcript
from tools.readme_demo import README, quick_start_block, replace_block


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
    check_readme_block(summary, transcript(out, files), files)


def check_readme_block(summary: str, printed: str, files: list[Path]) -> None:
    """The README's block, rebuilt from a run's output, quotes the studies and the files written."""
    block = quick_start_block(printed)
    assert block.startswith("```\n$ make demo\n...\n== study demo-weight-subset\n") and block.endswith("\n```")
    assert summary[summary.index("== study "):].rstrip("\n") + "\n\nwrote:" in block
    assert block.splitlines()[-len(files) - 1:-1] == [f"  {path}" for path in files]
    readme = README.read_text()
    rewritten = replace_block(readme, block)
    assert block in rewritten and len(rewritten.splitlines()) - len(readme.splitlines()) == (
        len(block.splitlines()) - len(quoted_block(readme).splitlines()))
    assert replace_block(rewritten, quoted_block(readme)) == readme  # only the block changes


def quoted_block(readme: str) -> str:
    start = readme.index("```\n$ make demo\n")
    return readme[start:readme.index("\n```", start + 4) + 4]

"""The end-to-end demo on embedded defaults: characterize, explore, report — into one folder."""

from __future__ import annotations

from pathlib import Path

from characterize.designs import MultiplierSpec
from characterize.lut_report import plot, summarize
from characterize.sweep import SweepConfig, run_sweep

DEMO_SPEC = MultiplierSpec(8, True, "array")
DEMO_VECTORS = 2000


def run_demo(out: Path, jobs: int = 2, vectors: int = DEMO_VECTORS, cache_dir: Path | None = None) -> list[Path]:
    """Characterize the 8-bit signed multiplier in both modes; write LUTs, plots and a summary. Returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    summary = []
    for mode in ("stationary", "embedded"):
        config = SweepConfig(DEMO_SPEC, mode, tuple(DEMO_SPEC.weights), vectors=vectors)
        lut = run_sweep(config, jobs=jobs, cache_dir=cache_dir)
        lut_path = out / f"lut_{mode}.csv"
        lut.save(lut_path)
        figure = out / f"lut_{mode}.png"
        plot(lut, figure)
        written += [lut_path, figure]
        summary += [f"== {mode}", summarize(lut), ""]
    summary_path = out / "summary.txt"
    summary_path.write_text("\n".join(summary))
    written.append(summary_path)
    return written

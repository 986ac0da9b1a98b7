"""Human-readable summaries and plots of a LUT."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cells.files import atomic_path, check_figure_path
from characterize.lut.table import Lut, LutError


def summarize(lut: Lut) -> str:
    """A few lines: provenance, reference row, spread of energy/delay/area over the weights."""
    rows = lut.weights
    if rows.empty:
        raise LutError("LUT has no weight rows")
    meta = lut.meta
    lines = [
        f"{len(rows)} weights, mode {rows['mode'].iloc[0]}, {rows['bits'].iloc[0]}-bit "
        f"{'signed' if rows['signed'].iloc[0] else 'unsigned'} {rows['arch'].iloc[0]}"
        + (f", {meta['vectors']} transitions, seed {meta['seed']}, library {meta['library']}" if "vectors" in meta else "")
    ]
    reference = lut.reference
    if reference is not None:
        lines.append(
            f"reference (no embedded weight): {reference['cells']:.0f} cells, {reference['area_um2']:.1f} um2, "
            f"{reference['energy_per_op_fJ']:.1f} fJ/op, critical {reference['critical_delay_ps']:.0f} ps"
        )
    energy = rows["energy_per_op_fJ"]
    lines.append(f"energy/op: {energy.min():.1f} fJ (w={energy.idxmin()}) to {energy.max():.1f} fJ (w={energy.idxmax()})")
    nonzero = rows[rows.index != 0]["energy_per_op_fJ"]
    free = nonzero[nonzero <= 0]
    if len(free):
        # Wiring only: the activation's nets reach the outputs directly, charged by the driver outside.
        lines.append(f"nonzero weights with no switching logic: {', '.join(f'w={w}' for w in free.index)}")
    costly = nonzero[nonzero > 0]
    if len(costly):
        cheapest = costly.min()
        lines.append(
            f"cheapest nonzero weight with logic: w={costly.idxmin()} at {cheapest:.1f} fJ; most expensive "
            f"{costly.max() / cheapest:.1f}x that; {int((costly <= 2 * cheapest).sum())} such weights within 2x of it"
        )
    delay = rows["max_sensitized_delay_ps"]
    lines.append(f"max sensitized delay: {delay.min():.0f} ps (w={delay.idxmin()}) to {delay.max():.0f} ps (w={delay.idxmax()})")
    area = rows["area_um2"]
    lines.append(f"area: {area.min():.1f} um2 (w={area.idxmin()}) to {area.max():.1f} um2 (w={area.idxmax()}), mean {area.mean():.1f}")
    if "upsized_cells" in rows:
        upsized = rows["upsized_cells"]
        lines.append(f"sized for delay: {upsized.min():.0f} (w={upsized.idxmin()}) to {upsized.max():.0f} "
                     f"(w={upsized.idxmax()}) upsized cells per weight, mean {upsized.mean():.1f}")
    lines.append(f"glitches: {rows['glitches_per_op'].sum() / max(rows['toggles_per_op'].sum(), 1e-12) * 100:.1f} % of all toggles")
    return "\n".join(lines)


def plot(lut: Lut, path: str | Path) -> None:
    """Energy, delays and area against the weight value, one panel each (PNG, SVG or PDF by extension)."""
    from matplotlib.figure import Figure  # loaded only when drawing: `summarize` serves every `dse` command

    path = check_figure_path(path, LutError)
    rows = lut.weights
    reference = lut.reference
    weights = rows.index.to_numpy()
    figure = Figure(figsize=(8, 8.5))
    axes = figure.subplots(3, 1, sharex=True)
    panels = [
        (axes[0], [("energy_per_op_fJ", "energy / op")], "energy per operation (fJ)"),
        (axes[1], [("max_sensitized_delay_ps", "max sensitized"), ("mean_sensitized_delay_ps", "mean sensitized"),
                   ("critical_delay_ps", "critical (STA)")], "delay (ps)"),
        (axes[2], [("area_um2", "area")], "area (um²)"),
    ]
    for axis, columns, label in panels:
        for column, name in columns:
            axis.plot(weights, rows[column].to_numpy(), marker=".", markersize=3, linewidth=0.8, label=name)
            if reference is not None and np.isfinite(reference[column]):
                axis.axhline(reference[column], linestyle="--", linewidth=0.8, color="gray")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        if len(columns) > 1:
            axis.legend(fontsize=8)
    axes[-1].set_xlabel("weight value")
    first = rows.iloc[0]
    axes[0].set_title(
        f"{first['bits']}-bit {'signed' if first['signed'] else 'unsigned'} {first['arch']} multiplier, "
        f"{first['mode']} (dashed: without embedded weight)"
    )
    figure.tight_layout()
    with atomic_path(path) as partial:
        figure.savefig(partial)

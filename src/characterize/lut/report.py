"""Human-readable summaries and plots of a LUT."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cells.figures import fit_title, save_figure
from cells.files import check_figure_path
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
    median = energy.sort_values(kind="stable").index[len(energy) // 2]  # of an even count, the upper middle weight
    lines.append(f"energy/op: {energy.min():.1f} fJ (w={energy.idxmin()}) to {energy.max():.1f} fJ (w={energy.idxmax()}), "
                 f"median {energy[median]:.1f} fJ (w={median})")
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
    area, constant_area = rows["area_um2"], constant_area_um2(rows)
    if constant_area is not None:
        lines.append(f"area: {constant_area:.1f} um2 for every weight ({rows['mode'].iloc[0]})")
    else:
        lines.append(f"area: {area.min():.1f} um2 (w={area.idxmin()}) to {area.max():.1f} um2 (w={area.idxmax()}), "
                     f"mean {area.mean():.1f}")
    if "upsized_cells" in rows:
        upsized = rows["upsized_cells"]
        if upsized.min() == upsized.max():
            lines.append(f"sized for delay: {upsized.min():.0f} upsized cells for every weight")
        else:
            lines.append(f"sized for delay: {upsized.min():.0f} (w={upsized.idxmin()}) to {upsized.max():.0f} "
                         f"(w={upsized.idxmax()}) upsized cells per weight, mean {upsized.mean():.1f}")
    if "clock_energy_share" in rows:
        lines.append(f"processing element: MAC {100 * (rows['mac_area_um2'] / rows['area_um2']).mean():.0f} % of the area; "
                     "shares of the switching energy, mean over the weights: "
                     f"MAC {100 * rows['mac_energy_share'].mean():.0f} %, clock {100 * rows['clock_energy_share'].mean():.0f} %, "
                     f"register outputs {100 * rows['register_energy_share'].mean():.0f} %")
    lines.append(f"glitches: {rows['glitches_per_op'].sum() / max(rows['toggles_per_op'].sum(), 1e-12) * 100:.1f} % of all toggles")
    return "\n".join(lines)


def constant_area_um2(rows) -> float | None:
    """The area every weight shares (a stationary LUT: the weight is an input, the circuit one), else None."""
    area = rows["area_um2"]
    return float(area.iloc[0]) if len(area) and np.allclose(area, area.iloc[0], rtol=1e-9, atol=0.0) else None


def lut_figure(lut: Lut):
    """Energy, delays and area against the weight value, one panel each; no area panel when the area is constant.

    A dashed line in a curve's colour gives the value of the reference circuit
    (without an embedded weight); each panel's legend sits beside it, off the curves.
    """
    from matplotlib.figure import Figure  # loaded only when drawing: `summarize` serves every `dse` command

    rows = lut.weights
    reference = lut.reference
    weights = rows.index.to_numpy()
    constant_area = constant_area_um2(rows)
    panels = [
        ([("energy_per_op_fJ", "energy / op")], "energy per operation (fJ)"),
        ([("max_sensitized_delay_ps", "max sensitized"), ("mean_sensitized_delay_ps", "mean sensitized"),
          ("critical_delay_ps", "critical (STA)")], "delay (ps)"),
    ]
    if constant_area is None:
        panels.append(([("area_um2", "area")], "area (µm²)"))
    figure = Figure(figsize=(10, 2.9 * len(panels) + 0.6), layout="constrained")
    axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for axis, (columns, label) in zip(axes, panels):
        for column, name in columns:
            (line,) = axis.plot(weights, rows[column].to_numpy(), marker=".", markersize=3, linewidth=0.8, label=name)
            if reference is not None and np.isfinite(reference[column]):
                axis.axhline(reference[column], linestyle="--", linewidth=0.9, color=line.get_color(),
                             label=f"{name}, without embedded weight")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    axes[-1].set_xlabel("weight value")
    first = rows.iloc[0]
    title = (f"{first['bits']}-bit {'signed' if first['signed'] else 'unsigned'} {first['arch']} multiplier, "
             f"{first['mode']}")
    if constant_area is not None:
        title += f"; area {constant_area:.1f} µm² for every weight"
    fit_title(figure, title)
    return figure


def plot(lut: Lut, path: str | Path) -> None:
    """Draw `lut_figure` into `path` (PNG, SVG or PDF by extension)."""
    path = check_figure_path(path, LutError)
    save_figure(lut_figure(lut), path)

"""Network-level hardware cost from a LUT and per-layer weight and activation statistics.

Energy per inference is the sum over all MACs of the LUT energy of the MAC's
weight value. The area of a weight-embedded (logic) design counts one embedded
multiplier per distinct weight value per layer: within a layer every product
by the same weight value is computed by that value's constant multiplier, so
the area is Σ over layers of the LUT areas of the layer's distinct values.
The worst sensitized delay is the largest LUT delay over the weight values
used, or over the used (weight, activation) pairs when the LUT has an
activation table and activation statistics are given. That delay, against the
clock period, sets the lowest supply voltage (alpha-power law) and so the
power (P ∝ V²·f at a fixed clock). Zero weights and zero activations cost
exactly what the LUT says: no zero-skipping is assumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cells.units import J_PER_FJ, NJ_PER_J, S_PER_PS, UW_PER_W
from characterize.lut.table import Lut
from characterize.timing.power import scale_voltage

DEFAULT_NOMINAL_V = 1.8  # sky130 hd typical corner, used when the LUT's provenance names no voltage


@dataclass(frozen=True)
class LayerStats:
    """One layer's integer weights, how often each takes part in a MAC, and optionally its activation histogram.

    `activations[i]` counts how often activation value `activation_min + i` enters the layer's MACs.
    """

    name: str
    weights: np.ndarray
    macs_per_weight: int
    activations: np.ndarray | None = None
    activation_min: int = 0

    def weight_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct weight values and how many weights of the layer hold each."""
        values, counts = np.unique(np.asarray(self.weights, dtype=np.int64).ravel(), return_counts=True)
        return values, counts

    def used_activations(self) -> np.ndarray | None:
        """Activation values with a non-zero count, or None without a histogram."""
        if self.activations is None:
            return None
        return np.flatnonzero(np.asarray(self.activations) > 0) + self.activation_min


def macs(layers: Iterable[LayerStats]) -> int:
    """MACs per inference."""
    return int(sum(np.size(layer.weights) * layer.macs_per_weight for layer in layers))


def energy_per_inference(lut: Lut, layers: Iterable[LayerStats]) -> float:
    """Energy (J) of one inference: Σ over layers and weights of macs_per_weight × LUT energy_per_op_fJ."""
    total_fj = 0.0
    for layer in layers:
        values, counts = layer.weight_counts()
        total_fj += layer.macs_per_weight * float(counts @ lut.column("energy_per_op_fJ", values))
    return total_fj * J_PER_FJ


def embedded_area(lut: Lut, layers: Iterable[LayerStats]) -> float:
    """Area (µm²) of the weight-embedded design: Σ over layers of the areas of the layer's distinct weight values."""
    return float(sum(lut.column("area_um2", layer.weight_counts()[0]).sum() for layer in layers))


def worst_delay(lut: Lut, layers: Iterable[LayerStats], allowed_activations: Sequence[int] | None = None) -> float:
    """Worst sensitized delay (s) over the weight values used, and the activations used where known.

    Activations count when the LUT has an activation table and either a layer
    histogram or `allowed_activations` restricts them; a (weight, activation)
    pair the table lacks falls back to the weight's overall maximum, so the
    result never understates the delay.
    """
    worst_ps = 0.0
    allowed = None if allowed_activations is None else np.asarray(allowed_activations, dtype=np.int64)
    for layer in layers:
        values = layer.weight_counts()[0]
        per_weight = lut.column("max_sensitized_delay_ps", values)
        used = layer.used_activations()
        if allowed is not None:
            used = allowed if used is None else np.intersect1d(used, allowed)
        if lut.activations is None or used is None:
            worst_ps = max(worst_ps, float(per_weight.max(initial=0.0)))
        else:
            worst_ps = max(worst_ps, _pair_delay_ps(lut, values, per_weight, used))
    return worst_ps * S_PER_PS


def _pair_delay_ps(lut: Lut, values: np.ndarray, per_weight: np.ndarray, used: np.ndarray) -> float:
    """Largest activation-table delay over used (weight, activation) pairs; missing pairs take the weight's maximum."""
    if used.size == 0:
        return 0.0
    table = lut.activations
    rows = table[table["weight"].isin(values) & table["activation"].isin(used)]
    worst = rows.groupby("weight")["max_sensitized_delay_ps"].max()
    pairs = rows.groupby("weight")["activation"].nunique()
    complete = pairs.reindex(values, fill_value=0).to_numpy() == used.size
    delays = np.where(complete, worst.reindex(values, fill_value=0.0).to_numpy(dtype=float), per_weight)
    return float(delays.max(initial=0.0))


def clock_period(lut: Lut) -> float:
    """Default clock period (s): the reference (generic) circuit's critical delay, else the slowest embedded one."""
    reference = lut.reference
    if reference is not None and np.isfinite(reference["critical_delay_ps"]):
        return float(reference["critical_delay_ps"]) * S_PER_PS
    return float(lut.weights["critical_delay_ps"].max()) * S_PER_PS


def nominal_voltage(lut: Lut) -> float:
    """Supply voltage (V) the LUT was characterized at: the library's nominal voltage from its provenance."""
    return float(lut.meta.get("voltage_V", DEFAULT_NOMINAL_V))


@dataclass(frozen=True)
class CostReport:
    """Hardware figures of one network on one LUT, in SI units.

    `power_W` is the power of one processing element doing the network's mean
    MAC once per clock period at the nominal supply; `power_scaled_W` the same
    at the lowest voltage the worst sensitized delay allows (same clock).
    """

    energy_per_inference_J: float
    macs: int
    area_um2: float
    worst_delay_s: float
    period_s: float
    voltage_nominal_V: float
    voltage_V: float
    power_W: float
    power_scaled_W: float
    timing_met: bool

    @property
    def energy_scaled_J(self) -> float:
        """Energy per inference at the scaled voltage (dynamic energy ∝ V²)."""
        return self.energy_per_inference_J * (self.voltage_V / self.voltage_nominal_V) ** 2

    def figures(self) -> dict[str, float]:
        """The figures in human units under names that read well as trial attributes and CSV columns."""
        return {
            "energy_per_inference_nJ": self.energy_per_inference_J * NJ_PER_J,
            "energy_scaled_nJ": self.energy_scaled_J * NJ_PER_J,
            "macs": float(self.macs),
            "area_um2": self.area_um2,
            "worst_delay_ps": self.worst_delay_s / S_PER_PS,
            "period_ps": self.period_s / S_PER_PS,
            "voltage_V": self.voltage_V,
            "power_uW": self.power_W * UW_PER_W,
            "power_scaled_uW": self.power_scaled_W * UW_PER_W,
        }


def cost_report(
    lut: Lut,
    layers: Sequence[LayerStats],
    period_s: float | None = None,
    voltage_nominal: float | None = None,
    allowed_activations: Sequence[int] | None = None,
) -> CostReport:
    """Energy, area, worst delay, and the voltage and power that delay allows at `period_s` (default: clock_period)."""
    period = clock_period(lut) if period_s is None else period_s
    nominal = nominal_voltage(lut) if voltage_nominal is None else voltage_nominal
    energy = energy_per_inference(lut, layers)
    count = macs(layers)
    delay = worst_delay(lut, layers, allowed_activations)
    scaling = scale_voltage(delay, period, nominal)
    power = energy / count / period if count else 0.0
    return CostReport(
        energy_per_inference_J=energy,
        macs=count,
        area_um2=embedded_area(lut, layers),
        worst_delay_s=delay,
        period_s=period,
        voltage_nominal_V=nominal,
        voltage_V=scaling.voltage,
        power_W=power,
        power_scaled_W=power * scaling.power_scale,
        timing_met=scaling.feasible,
    )

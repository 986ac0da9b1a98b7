"""Network-level hardware cost from a LUT and per-layer weight and activation statistics.

Energy per inference is the sum over layers and over the layer's MACs of the
LUT energy of the MAC's weight value. The LUT is the study's, or, where the
cost model has one for the layer, a LUT characterized with that layer's own
recorded activation sequence (`CostModel.layer_luts`). With zero-skipping, a
MAC whose weight or activation is zero costs `gated_energy_fJ` instead, and
the others the LUT's mean energy over characterized transitions that ended on
a non-zero activation; without it zero operands cost what the LUT says.
The area of a weight-embedded (logic) design counts one embedded multiplier
per distinct weight value per layer: within a layer every product by the same
weight value is computed by that value's constant multiplier, so the area is
Σ over layers of the LUT areas of the layer's distinct values. The worst
sensitized delay is the largest LUT delay over the weight values used, or over
the used (weight, activation) pairs when the LUT has an activation table and
activation statistics are given; it always comes from the study's LUT, since
timing must hold for every transition, not only for those recorded. That
delay, against the clock period, sets the lowest supply voltage (alpha-power
law) and so the power (P ∝ V²·f at a fixed clock). `CostReport.layers` breaks
every figure down by layer; the layers' energies and MACs sum to the totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

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

    def zero_activation_share(self) -> float:
        """Share of the layer's MAC inputs that are zero (0 without a histogram)."""
        if self.activations is None:
            return 0.0
        counts = np.asarray(self.activations)
        zero = -self.activation_min
        total = counts.sum()
        return float(counts[zero]) / float(total) if 0 <= zero < len(counts) and total > 0 else 0.0


LAYER_PREFIX = "layer:"


@dataclass(frozen=True)
class CostModel:
    """What prices a network: the study's LUT, LUTs characterized with single layers' activations, zero-skipping.

    `layer_luts[name]` gives the energy of layer `name`'s MACs (delay and area
    stay the study LUT's). With `zero_skip`, a MAC with a zero weight or a zero
    activation costs `gated_energy_fJ`: 0 for a design that gates the clock of
    the operand registers, so that neither they nor the multiplier switch; the
    held registers' clock energy for one that only holds their value.
    """

    lut: Lut
    layer_luts: Mapping[str, Lut] = field(default_factory=dict)
    zero_skip: bool = False
    gated_energy_fJ: float = 0.0

    def energy_lut(self, layer: str) -> Lut:
        """The LUT that prices layer `layer`'s MACs."""
        return self.layer_luts.get(layer, self.lut)


def as_cost_model(model: CostModel | Lut) -> CostModel:
    """A plain LUT is the cost model that uses it for every layer, without zero-skipping."""
    return model if isinstance(model, CostModel) else CostModel(model)


def macs(layers: Iterable[LayerStats]) -> int:
    """MACs per inference."""
    return int(sum(layer_macs(layer) for layer in layers))


def layer_macs(layer: LayerStats) -> int:
    """MACs of one layer per inference."""
    return int(np.size(layer.weights) * layer.macs_per_weight)


def energy_per_inference(model: CostModel | Lut, layers: Iterable[LayerStats]) -> float:
    """Energy (J) of one inference: the sum of `layer_energy` over the layers."""
    model = as_cost_model(model)
    return float(sum(layer_energy(model, layer) for layer in layers))


def layer_energy(model: CostModel | Lut, layer: LayerStats) -> float:
    """Energy (J) of one layer per inference: macs_per_weight × Σ over its weights of the MAC energy (fJ).

    Without zero-skipping a MAC costs its weight's `energy_per_op_fJ` in the
    layer's LUT. With it, a zero weight costs the gated energy, and a non-zero
    weight the gated energy for the layer's share of zero activations and
    `nonzero_energy_fJ` for the rest.
    """
    model = as_cost_model(model)
    lut = model.energy_lut(layer.name)
    values, counts = layer.weight_counts()
    if not model.zero_skip:
        per_weight = lut.column("energy_per_op_fJ", values)
    else:
        zeros = layer.zero_activation_share()
        per_weight = np.full(len(values), model.gated_energy_fJ)
        active = values != 0
        per_weight[active] = zeros * model.gated_energy_fJ + (1 - zeros) * nonzero_energy_fJ(lut, values[active])
    return layer.macs_per_weight * float(counts @ per_weight) * J_PER_FJ


def nonzero_energy_fJ(lut: Lut, values: np.ndarray) -> np.ndarray:
    """Per weight value, the mean energy (fJ) of the characterized transitions that ended on a non-zero activation.

    From the LUT's activation table, weighted by each pair's transitions; a
    weight without such transitions (or a LUT without the table) takes its
    overall `energy_per_op_fJ`.
    """
    overall = lut.column("energy_per_op_fJ", values)
    table = lut.activations
    if table is None or len(values) == 0:
        return overall
    rows = table[table["weight"].isin(values) & (table["activation"] != 0)]
    weighted = (rows["transitions"] * rows["mean_energy_fJ"]).groupby(rows["weight"]).sum()
    transitions = rows.groupby("weight")["transitions"].sum()
    mean = (weighted / transitions).reindex(values).to_numpy(dtype=float)
    return np.where(np.isnan(mean), overall, mean)


def embedded_area(model: CostModel | Lut, layers: Iterable[LayerStats]) -> float:
    """Area (µm²) of the weight-embedded design: Σ over layers of the areas of the layer's distinct weight values."""
    lut = as_cost_model(model).lut
    return float(sum(layer_area(lut, layer) for layer in layers))


def layer_area(lut: Lut, layer: LayerStats) -> float:
    """Area (µm²) of one layer's embedded multipliers: one per distinct weight value."""
    return float(lut.column("area_um2", layer.weight_counts()[0]).sum())


def worst_delay(model: CostModel | Lut, layers: Iterable[LayerStats],
                allowed_activations: Sequence[int] | None = None) -> float:
    """Worst sensitized delay (s) over the weight values used, and the activations used where known.

    Activations count when the LUT has an activation table and either a layer
    histogram or `allowed_activations` restricts them; a (weight, activation)
    pair the table lacks falls back to the weight's overall maximum, so the
    result never understates the delay.
    """
    lut = as_cost_model(model).lut
    return max((layer_delay(lut, layer, allowed_activations) for layer in layers), default=0.0)


def layer_delay(lut: Lut, layer: LayerStats, allowed_activations: Sequence[int] | None = None) -> float:
    """Worst sensitized delay (s) of one layer's MACs (see `worst_delay`)."""
    allowed = None if allowed_activations is None else np.asarray(allowed_activations, dtype=np.int64)
    values = layer.weight_counts()[0]
    per_weight = lut.column("max_sensitized_delay_ps", values)
    used = layer.used_activations()
    if allowed is not None:
        used = allowed if used is None else np.intersect1d(used, allowed)
    if lut.activations is None or used is None:
        return float(per_weight.max(initial=0.0)) * S_PER_PS
    return _pair_delay_ps(lut, values, per_weight, used) * S_PER_PS


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
class LayerCost:
    """One layer's share of a CostReport, in SI units: MACs, energy, worst delay, distinct weights, embedded area."""

    name: str
    macs: int
    energy_J: float
    worst_delay_s: float
    distinct_weights: int
    area_um2: float

    def figures(self) -> dict[str, float]:
        """The figures in human units, named as in `CostReport.layer_figures` after the layer prefix."""
        return {"macs": float(self.macs), "energy_nJ": self.energy_J * NJ_PER_J,
                "worst_delay_ps": self.worst_delay_s / S_PER_PS, "distinct_weights": float(self.distinct_weights),
                "area_um2": self.area_um2}


def layer_costs(model: CostModel | Lut, layers: Iterable[LayerStats],
                allowed_activations: Sequence[int] | None = None) -> tuple[LayerCost, ...]:
    """The per-layer breakdown of a network's cost."""
    model = as_cost_model(model)
    return tuple(LayerCost(layer.name, layer_macs(layer), layer_energy(model, layer),
                           layer_delay(model.lut, layer, allowed_activations), len(layer.weight_counts()[0]),
                           layer_area(model.lut, layer))
                 for layer in layers)


def layer_figures(layers: Iterable[LayerCost]) -> dict[str, float]:
    """Every layer's figures as `layer:<layer>:<figure>` (e.g. `layer:conv1:energy_nJ`): trial attributes, columns."""
    return {f"{LAYER_PREFIX}{layer.name}:{name}": value for layer in layers for name, value in layer.figures().items()}


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
    layers: tuple[LayerCost, ...] = ()

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

    def layer_figures(self) -> dict[str, float]:
        """The per-layer breakdown as `layer:<layer>:<figure>` (see `layer_figures`)."""
        return layer_figures(self.layers)


def cost_report(
    model: CostModel | Lut,
    layers: Sequence[LayerStats],
    period_s: float | None = None,
    voltage_nominal: float | None = None,
    allowed_activations: Sequence[int] | None = None,
) -> CostReport:
    """Energy, area, worst delay, and the voltage and power that delay allows at `period_s` (default: clock_period)."""
    model = as_cost_model(model)
    period = clock_period(model.lut) if period_s is None else period_s
    nominal = nominal_voltage(model.lut) if voltage_nominal is None else voltage_nominal
    breakdown = layer_costs(model, layers, allowed_activations)
    energy = float(sum(layer.energy_J for layer in breakdown))
    count = sum(layer.macs for layer in breakdown)
    delay = max((layer.worst_delay_s for layer in breakdown), default=0.0)
    scaling = scale_voltage(delay, period, nominal)
    power = energy / count / period if count else 0.0
    return CostReport(
        energy_per_inference_J=energy,
        macs=count,
        area_um2=float(sum(layer.area_um2 for layer in breakdown)),
        worst_delay_s=delay,
        period_s=period,
        voltage_nominal_V=nominal,
        voltage_V=scaling.voltage,
        power_W=power,
        power_scaled_W=power * scaling.power_scale,
        timing_met=scaling.feasible,
        layers=breakdown,
    )

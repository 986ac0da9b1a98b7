"""Energy of switching activity and leakage; average power; voltage scaling (alpha-power law).

Per toggle of a net (glitches included) the model counts:
- ½·C·V² switching energy for charging or discharging the net's load C (fanout pin
  capacitances, wire load, the external load of an output-port bit), booked to the
  cell that drives the net. A net driven by an input port is charged by a driver
  outside the netlist and costs nothing here.
- The internal energy of the driving cell's output pin: the mean of its Liberty
  `internal_power` rise and fall tables (rises and falls alternate) at the net's load
  and the slew of the related input pin (rising or falling by the arc's sense). An
  output has one group per related input pin (and per `when` condition); they are
  mixed by how often each causes an output transition: the related pin's toggles ×
  the share of states in which that pin decides the output (its boolean difference)
  and `when` holds.
- The internal energy of every cell input pin on the net: its groups at the net's
  slew, each weighted by the share of states in which its `when` holds.
Leakage power is that of each cell's input state (`leakage_power` by `when`, else
`cell_leakage_power`) averaged over the settled states of the simulated vectors.

This is the model of OpenSTA's `report_power`, with one difference: state shares are
counted on the simulated vectors, where OpenSTA multiplies pin probabilities as if
the pins were independent.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from cells.model import Cell
from characterize.errors import NetlistError
from characterize.netlist.ir import CONST_NAMES, UNCONNECTED, Netlist
from characterize.netlist.logic import net_values
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, TimedGates, default_external_load
from characterize.timing.sim import SimResult, distinct_vectors, simulate
from characterize.timing.sta import unateness

# Alpha-power-law defaults for sky130 hd at its 1.8 V typical corner.
DEFAULT_THRESHOLD_V = 0.45
DEFAULT_ALPHA = 1.3
MATRIX_LIMIT = 1 << 25  # toggle counts (transitions × nets) kept at once for pricing: 128 MB of int32


@dataclass(frozen=True, eq=False)
class Activity:
    """Switching activity of N transitions: toggles per net, and each instance's input states.

    `toggles` counts every value change of each net over all transitions;
    `state_shares[i]` gives for instance i the share of the settled vectors (after
    each transition) in each input state (index s: input pin j is bit j of s).
    """

    toggles: np.ndarray
    transitions: int
    state_shares: tuple[np.ndarray, ...]

    @property
    def toggles_per_op(self) -> np.ndarray:
        return self.toggles / self.transitions


def measure_activity(netlist: Netlist, inputs: Mapping[str, Iterable[int]], toggles: np.ndarray) -> Activity:
    """The Activity of the transitions between the N + 1 `inputs` vectors, given their simulated `toggles` per net.

    State shares are counted over the distinct settled vectors, each weighted by how often it occurs.
    """
    columns = {name: np.asarray(values)[1:] for name, values in inputs.items()}
    transitions = len(next(iter(columns.values())))
    if transitions < 1:
        raise NetlistError("activity needs at least two vectors (one transition)")
    columns, ids = distinct_vectors(columns)
    counts = np.bincount(ids).astype(np.float64)
    values = net_values(netlist, columns)
    shares = []
    for inst in netlist.instances:
        state = np.zeros(len(counts), dtype=np.int64)
        for pin, net in enumerate(inst.inputs):
            state |= values[net].astype(np.int64) << pin
        shares.append(np.bincount(state, weights=counts, minlength=1 << len(inst.inputs)) / transitions)
    return Activity(np.asarray(toggles, dtype=np.float64), transitions, tuple(shares))


@dataclass(frozen=True, eq=False)
class EnergyModel:
    """Energy (J) per toggle of every cell pin, and leakage power (W) per instance.

    Pin p sits on net `pin_net[p]` and belongs to instance `pin_instance[p]`;
    `switching_j[p]` is ½·C·V² of the net it drives (0 for input pins), `internal_j[p]`
    its internal energy per toggle.
    """

    pin_instance: np.ndarray
    pin_net: np.ndarray
    switching_j: np.ndarray
    internal_j: np.ndarray
    leakage_w: np.ndarray
    net_count: int

    @property
    def toggle_energy_j(self) -> np.ndarray:
        """Energy (J) of one toggle of each net: the `net_weights` of `sim.simulate`."""
        return np.bincount(self.pin_net, weights=self.switching_j + self.internal_j, minlength=self.net_count)

    def instance_energy_j(self, toggles_per_op: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(internal, switching) energy (J) per operation of each instance, from toggles per op per net."""
        count = len(self.leakage_w)
        rate = np.asarray(toggles_per_op, dtype=np.float64)[self.pin_net]
        internal = np.bincount(self.pin_instance, weights=self.internal_j * rate, minlength=count)
        switching = np.bincount(self.pin_instance, weights=self.switching_j * rate, minlength=count)
        return internal, switching

    @property
    def leakage_power_w(self) -> float:
        return float(self.leakage_w.sum())


def energy_model(
    netlist: Netlist,
    activity: Activity,
    slew_s: float | np.ndarray | None = None,
    external_load: float | None = None,
) -> EnergyModel:
    """The energy of every pin toggle of `netlist` under `activity` (see the module docstring).

    `slew_s` is the transition time (s) of each net: one value for all, an array per
    net, or 2 × nets (rising row 0, falling row 1); default DEFAULT_INPUT_SLEW_S.
    `external_load` (F) loads every output-port bit, default `default_external_load`.
    """
    library = netlist.library
    slews = _net_slews(slew_s, len(netlist.nets))
    if external_load is None:
        external_load = default_external_load(library)
    load = netlist.load_capacitance(external_load)
    rate = activity.toggles_per_op
    voltage = library.voltage
    instances, nets, switching, internal, leakage = [], [], [], [], []
    for index, inst in enumerate(netlist.instances):
        cell = library.cells[inst.cell]
        shares = activity.state_shares[index]
        # A register's leakage states name its internal state, which input states do not give: its mean applies.
        leakage.append(cell.leakage if cell.sequential else float(np.dot(shares, cell.leakage_by_state)))
        for pin, net in zip(cell.outputs, inst.outputs):
            if net == UNCONNECTED:
                continue
            instances.append(index)
            nets.append(net)
            switching.append(0.5 * load[net] * voltage**2)
            internal.append(_output_energy(cell, pin, inst.inputs, shares, rate, slews, load[net]))
        for pin, net in zip(cell.inputs, inst.inputs):
            instances.append(index)
            nets.append(net)
            switching.append(0.0)
            internal.append(_input_energy(cell, pin, shares, slews[:, net]))
    pin_net = np.array(nets, dtype=np.int64)
    internal_j = np.array(internal)
    internal_j[pin_net < len(CONST_NAMES)] = 0.0
    return EnergyModel(
        pin_instance=np.array(instances, dtype=np.int64),
        pin_net=pin_net,
        switching_j=np.array(switching),
        internal_j=internal_j,
        leakage_w=np.array(leakage),
        net_count=len(netlist.nets),
    )


def _net_slews(slew_s: float | np.ndarray | None, nets: int) -> np.ndarray:
    """Rising and falling slew (s) of every net as a 2 × nets array."""
    value = DEFAULT_INPUT_SLEW_S if slew_s is None else slew_s
    slews = np.asarray(value, dtype=np.float64)
    if slews.ndim == 0:
        slews = np.full(nets, float(slews))
    if slews.shape == (nets,):
        slews = np.vstack([slews, slews])
    if slews.shape != (2, nets) or not np.all(slews >= 0):
        raise NetlistError(f"slews must be one value >= 0, {nets} values or 2 x {nets} values, got shape {slews.shape}")
    return slews


def _mean_energy(arc, rise_slew: float, fall_slew: float, load: float) -> float:
    """Mean of an arc's rise and fall energy (J) at the slews that cause them; a missing table counts as absent."""
    energies = [table.lookup(slew, load) for table, slew in ((arc.rise_energy, rise_slew), (arc.fall_energy, fall_slew))
                if table is not None]
    return float(np.mean(energies)) if energies else 0.0


def _output_energy(cell: Cell, pin: str, input_nets, shares: np.ndarray, rate: np.ndarray, slews, load: float) -> float:
    """Internal energy (J) per toggle of output `pin`: its arcs mixed by how often each causes an output toggle."""
    arcs = [(a, c) for a, c in zip(cell.power, cell.power_conditions) if a.pin == pin]
    if any(a.related_pin for a, _ in arcs):
        arcs = [(a, c) for a, c in arcs if a.related_pin in cell.inputs]
    if not arcs:
        return 0.0
    if cell.sequential:  # a register output changes on its clock edge: its arcs (from the clock) weigh alike
        nets = [input_nets[cell.inputs.index(a.related_pin)] if a.related_pin else 0 for a, _ in arcs]
        return float(np.mean([_mean_energy(a, slews[0, n], slews[1, n], load) for (a, _), n in zip(arcs, nets)]))
    k = len(cell.inputs)
    table = cell.truth_tables[cell.outputs.index(pin)]
    energies, weights = [], []
    for arc, condition in arcs:
        if arc.related_pin:
            j = cell.inputs.index(arc.related_pin)
            net = input_nets[j]
            raises, lowers = unateness(table, k, j)
            rise_row = 1 if lowers and not raises else 0  # an output rise comes from a falling input on an inverting arc
            energies.append(_mean_energy(arc, slews[rise_row, net], slews[1 - rise_row, net], load))
            weights.append(rate[net] * _share(shares, _difference(table, k, j) & condition))
        else:
            energies.append(_mean_energy(arc, slews[0, 0], slews[1, 0], load))
            weights.append(_share(shares, condition))
    weights = np.asarray(weights)
    if weights.sum() <= 0:
        weights = np.ones(len(energies))
    return float(np.dot(weights, energies) / weights.sum())


def _input_energy(cell: Cell, pin: str, shares: np.ndarray, slews: np.ndarray) -> float:
    """Internal energy (J) per toggle of input `pin`: its groups, each weighted by the share of states its `when` holds."""
    total = 0.0
    for arc, condition in zip(cell.power, cell.power_conditions):
        if arc.pin == pin and not arc.related_pin:
            share = _share(shares, condition) if arc.when else 1.0
            total += share * _mean_energy(arc, slews[0], slews[1], 0.0)
    return total


def _difference(table: int, k: int, j: int) -> int:
    """Boolean difference of a truth table with respect to input j: the states in which input j decides the output."""
    flipped = 0
    for i in range(1 << k):
        flipped |= ((table >> (i ^ (1 << j))) & 1) << i
    return table ^ flipped


def _share(shares: np.ndarray, condition: int) -> float:
    """Share of the states in the set `condition` (a truth table)."""
    return float(sum(shares[i] for i in range(len(shares)) if (condition >> i) & 1))


@dataclass(frozen=True, eq=False)
class EnergyRun:
    """A timing simulation with its energy: activity, model and the dynamic energy (J) of each transition."""

    result: SimResult
    activity: Activity
    model: EnergyModel
    dynamic_j: np.ndarray

    def energy_per_op_j(self, period_s: float) -> float:
        """Mean energy (J) of one operation: dynamic energy plus leakage over one clock period."""
        return float(self.dynamic_j.mean()) + self.model.leakage_power_w * period_s


def simulate_energy(
    timed: TimedGates,
    inputs: Mapping[str, Iterable[int]],
    slew_s: float | np.ndarray | None = None,
    matrix_limit: int = MATRIX_LIMIT,
    threads: int | None = 1,
) -> EnergyRun:
    """Simulate the transitions of `inputs` and price them (`slew_s` as in `energy_model`; default each net's
    slew from the delay calculation where `timed` has it, else the timed input slew); `threads` as in `simulate`.

    The model needs the run's toggles before it can price a transition, so the toggles
    of every net in every distinct transition are kept and priced afterwards; when
    there are more than `matrix_limit` of them, the transitions are simulated twice
    instead (toggles, then energies), with the same result.
    """
    if slew_s is None:
        slew_s = timed.energy_slew_s
    result = simulate(timed, inputs, per_transition=True, threads=threads, matrix_limit=matrix_limit)
    activity = measure_activity(timed.netlist, inputs, result.toggles)
    model = energy_model(timed.netlist, activity, slew_s, timed.external_load_f)
    if result.run_toggles is not None:
        dynamic = result.priced(model.toggle_energy_j)
    else:
        dynamic = simulate(timed, inputs, net_weights=model.toggle_energy_j, threads=threads).weighted_toggles
    return EnergyRun(result, activity, model, dynamic)


def average_power(energy_per_op_j: float, period_s: float) -> float:
    """Average power (W) when one operation runs every `period_s` seconds."""
    if period_s <= 0:
        raise NetlistError(f"clock period must be positive, got {period_s}")
    return energy_per_op_j / period_s


@dataclass(frozen=True)
class VoltageScaling:
    """Result of lowering the supply until the worst sensitized delay meets a delay budget."""

    voltage: float
    delay_s: float
    energy_scale: float
    power_scale: float
    feasible: bool


def alpha_power_delay_scale(voltage: float, nominal: float, threshold: float, alpha: float) -> float:
    """Gate delay at `voltage` relative to `nominal`: t ∝ V / (V − Vth)^α (Sakurai–Newton)."""
    if voltage <= threshold:
        return float("inf")
    return (voltage / (voltage - threshold) ** alpha) / (nominal / (nominal - threshold) ** alpha)


def scale_voltage(
    worst_delay_s: float,
    budget_s: float,
    nominal_v: float,
    threshold_v: float = DEFAULT_THRESHOLD_V,
    alpha: float = DEFAULT_ALPHA,
    tolerance_v: float = 1e-4,
) -> VoltageScaling:
    """Lowest supply voltage at which `worst_delay_s` (measured at `nominal_v`) still fits `budget_s`.

    Dynamic energy per operation scales with V²; at a fixed clock, so does
    dynamic power. When the delay misses the budget even at the nominal
    voltage, the nominal point is returned with `feasible` False.
    """
    if budget_s <= 0 or worst_delay_s < 0:
        raise NetlistError(f"delay budget must be positive and delay non-negative, got {budget_s} and {worst_delay_s}")
    if worst_delay_s > budget_s:
        return VoltageScaling(nominal_v, worst_delay_s, 1.0, 1.0, False)
    if worst_delay_s == 0:
        low = threshold_v + tolerance_v
        return VoltageScaling(low, 0.0, (low / nominal_v) ** 2, (low / nominal_v) ** 2, True)
    low, high = threshold_v, nominal_v
    while high - low > tolerance_v:
        middle = (low + high) / 2
        if worst_delay_s * alpha_power_delay_scale(middle, nominal_v, threshold_v, alpha) <= budget_s:
            high = middle
        else:
            low = middle
    scale = (high / nominal_v) ** 2
    delay = worst_delay_s * alpha_power_delay_scale(high, nominal_v, threshold_v, alpha)
    return VoltageScaling(high, delay, scale, scale, True)

"""The energy model: switching and internal energy per toggle from the Liberty data, arcs mixed by cause, leakage by state."""

from __future__ import annotations

import numpy as np
import pytest

from cells import LibraryError, read_liberty
from characterize.errors import NetlistError
from characterize.netlist.builder import NetlistBuilder
from characterize.passes.designs import MultiplierSpec, reference_design
from characterize.timing.delays import annotate_delays
from characterize.timing.power import energy_model, measure_activity, simulate_energy

SLEW, LOAD = 40e-12, 2e-15


def close(value):
    """Equal to 1 part in a million: energies are femtojoules, too small for approx's default absolute tolerance."""
    return pytest.approx(value, rel=1e-6, abs=0)


def single_gate(library, role: str, inputs: int):
    builder = NetlistBuilder(role.lower(), library)
    x = builder.input("x", inputs)
    builder.output("y", [builder.gate(role, *x)])
    return builder.build()


def model_for(design, vectors, slew=SLEW, load=LOAD):
    """The energy model of `design` for a sequence of `x` values, with toggles from the timing simulation."""
    timed = annotate_delays(design, SLEW, load)
    inputs = {"x": np.asarray(vectors)}
    run = simulate_energy(timed, inputs)
    return energy_model(design, measure_activity(design, inputs, run.result.toggles), slew, load)


def mean_energy(arc, rise_slew, fall_slew, load):
    return (arc.rise_energy.lookup(rise_slew, load) + arc.fall_energy.lookup(fall_slew, load)) / 2


def test_inverter_toggle_costs_half_cv2_plus_its_liberty_internal_energy(library):
    design = single_gate(library, "INV", 1)
    model = model_for(design, [0, 1, 0, 1])
    cell = library.cells[design.instances[0].cell]
    x, y = design.port("x").nets[0], design.port("y").nets[0]
    load = LOAD + library.wire_load.capacitance(1)
    arc = next(a for a in cell.power if a.pin == cell.outputs[0])
    expected = 0.5 * load * library.voltage**2 + mean_energy(arc, SLEW, SLEW, load)
    assert model.toggle_energy_j[y] == close(expected)
    inputs = [a for a in cell.power if a.pin == cell.inputs[0]]
    assert model.toggle_energy_j[x] == close(sum(mean_energy(a, SLEW, SLEW, 0.0) for a in inputs))


def test_a_net_driven_by_an_input_port_has_no_switching_energy(library):
    design = single_gate(library, "INV", 1)
    model = model_for(design, [0, 1, 0])
    x = design.port("x").nets[0]
    assert model.switching_j[model.pin_net == x].sum() == 0.0
    assert model.switching_j[model.pin_net == design.port("y").nets[0]].sum() > 0.0


def test_output_energy_is_the_arc_of_the_input_that_switches(library):
    design = single_gate(library, "NAND2", 2)
    inst = design.instances[0]
    cell = library.cells[inst.cell]
    x0, x1 = design.port("x").nets
    pin_of = {net: cell.inputs[j] for j, net in enumerate(inst.inputs)}
    y = design.port("y").nets[0]
    load = LOAD + library.wire_load.capacitance(1)
    switching = 0.5 * load * library.voltage**2
    energies = {}
    for moving, held in ((x0, 2), (x1, 1)):
        model = model_for(design, [held, 3] * 20)  # the held input stays 1, the other toggles
        arc = next(a for a in cell.power if a.pin == cell.outputs[0] and a.related_pin == pin_of[moving])
        energies[moving] = model.toggle_energy_j[y] - switching
        # NAND is inverting: an output rise follows an input fall.
        assert energies[moving] == close(mean_energy(arc, SLEW, SLEW, load))
    assert energies[x0] != close(energies[x1])


def test_slews_per_net_and_direction_are_used(library):
    design = single_gate(library, "INV", 1)
    cell = library.cells[design.instances[0].cell]
    x, y = design.port("x").nets[0], design.port("y").nets[0]
    slews = np.full((2, len(design.nets)), SLEW)
    slews[0, x], slews[1, x] = 20e-12, 200e-12
    model = model_for(design, [0, 1, 0, 1], slew=slews)
    load = LOAD + library.wire_load.capacitance(1)
    arc = next(a for a in cell.power if a.pin == cell.outputs[0])
    # The output rises when the input falls (slew 200 ps) and falls when it rises (20 ps).
    internal = mean_energy(arc, 200e-12, 20e-12, load)
    assert model.toggle_energy_j[y] == close(0.5 * load * library.voltage**2 + internal)
    assert internal != close(mean_energy(arc, SLEW, SLEW, load))
    with pytest.raises(NetlistError, match="slews"):
        model_for(design, [0, 1], slew=np.zeros(3))


def test_leakage_follows_the_settled_input_states(library):
    design = single_gate(library, "NAND2", 2)
    cell = library.cells[design.instances[0].cell]
    by_when = {s.when: s.power for s in cell.leakage_states}
    assert model_for(design, [0, 3, 3, 3]).leakage_w[0] == close(by_when["A&B"])
    assert model_for(design, [3, 0, 3]).leakage_w[0] == close((by_when["A&B"] + by_when["!A&!B"]) / 2)
    assert by_when["A&B"] != close(cell.leakage)


CONDITIONAL = """library (conditional) {
  time_unit : "1ns";
  voltage_unit : "1V";
  leakage_power_unit : "1nW";
  capacitive_load_unit (1, pf);
  nom_voltage : 1.0;
  nom_temperature : 85.0;
  power_lut_template (slew) { variable_1 : input_transition_time; index_1 ("0.01, 1.0"); }
  cell (AND2) {
    area : 2.0;
    cell_leakage_power : 5.0;
    leakage_power () { when : "A & B"; value : 3.0; }
    leakage_power () { when : "!A"; value : 1.0; }
    pin (A) {
      direction : input; capacitance : 0.001;
      internal_power () { when : "B"; rise_power (slew) { values ("0.004, 0.004"); } fall_power (slew) { values ("0.002, 0.002"); } }
      internal_power () { when : "!B"; rise_power (slew) { values ("0.001, 0.001"); } fall_power (slew) { values ("0.001, 0.001"); } }
    }
    pin (B) { direction : input; capacitance : 0.001; }
    pin (Y) {
      direction : output; function : "A & B";
      timing () { related_pin : "A"; timing_sense : positive_unate; cell_rise (scalar) { values ("0.1"); }
                  cell_fall (scalar) { values ("0.1"); } }
      timing () { related_pin : "B"; timing_sense : positive_unate; cell_rise (scalar) { values ("0.1"); }
                  cell_fall (scalar) { values ("0.1"); } }
    }
  }
}
"""


@pytest.fixture
def conditional(tmp_path):
    path = tmp_path / "conditional.lib"
    path.write_text(CONDITIONAL)
    return read_liberty(path)


def test_reader_keeps_when_conditions_and_the_corner(conditional):
    cell = conditional.cells["AND2"]
    assert [(s.when, s.power) for s in cell.leakage_states] == [("A & B", close(3e-9)), ("!A", close(1e-9))]
    assert [a.when for a in cell.power] == ["B", "!B"]
    assert conditional.temperature == 85.0 and conditional.voltage == 1.0
    # States (A, B) = 00, 10, 01, 11 as bits (A is bit 0): no condition holds for A & !B, so cell_leakage_power.
    assert cell.leakage_by_state == close((1e-9, 5e-9, 1e-9, 3e-9))


def test_input_energy_weights_each_when_by_the_share_of_states_it_holds(conditional):
    builder = NetlistBuilder("and", conditional)
    x = builder.input("x", 2)
    builder.output("y", [builder.gate("AND2", x[0], x[1])])
    design = builder.build()
    a, b = design.instances[0].inputs
    bits = design.port("x").nets

    def vectors(*states):
        return {"x": np.array([(pa << bits.index(a)) | (pb << bits.index(b)) for pa, pb in states])}

    b_high = vectors(*[(0, 1), (1, 1)] * 4)  # A toggles while B is 1
    half = vectors((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))  # B is 1 in half of the settled states
    for inputs, expected_pj in ((b_high, 0.003), (half, 0.5 * 0.003 + 0.5 * 0.001)):
        toggles = np.zeros(len(design.nets))
        model = energy_model(design, measure_activity(design, inputs, toggles), 40e-12, 0.0)
        input_pin = (model.pin_net == a) & (model.switching_j == 0)
        assert model.internal_j[input_pin].sum() == close(expected_pj * 1e-12)


@pytest.mark.parametrize("when, message", [('"A & GHOST"', "GHOST"), ('"A &"', "when")])
def test_a_bad_when_names_the_cell(tmp_path, when, message):
    path = tmp_path / "bad.lib"
    path.write_text(CONDITIONAL.replace('"A & B"; value : 3.0', f"{when}; value : 3.0"))
    with pytest.raises(LibraryError, match=f"AND2.*{message}") as info:
        read_liberty(path)
    assert str(path) in str(info.value)


def test_energy_per_transition_adds_up_and_is_zero_without_change(library):
    design = reference_design(MultiplierSpec(4, True, "array"), library)
    timed = annotate_delays(design)
    run = simulate_energy(timed, {"a": np.array([5, 5, 1, -7, 6, 6]), "w": np.full(6, 3)})
    assert run.dynamic_j[0] == 0.0 and run.dynamic_j[-1] == 0.0
    assert all(e > 0 for e in run.dynamic_j[1:-1])
    internal, switching = run.model.instance_energy_j(run.activity.toggles_per_op)
    assert run.dynamic_j.mean() == close(internal.sum() + switching.sum())
    assert run.energy_per_op_j(1e-9) == close(run.dynamic_j.mean() + run.model.leakage_power_w * 1e-9)


def test_a_run_too_large_to_keep_is_priced_in_a_second_pass_with_the_same_result(library):
    design = reference_design(MultiplierSpec(4, True, "booth"), library)
    timed = annotate_delays(design)
    rng = np.random.default_rng(2)
    inputs = {"a": rng.integers(-8, 8, 60), "w": rng.integers(-8, 8, 60)}
    kept, twice = simulate_energy(timed, inputs), simulate_energy(timed, inputs, matrix_limit=0)
    assert kept.result.toggles_per_transition is not None and twice.result.toggles_per_transition is None
    np.testing.assert_allclose(twice.dynamic_j, kept.dynamic_j, rtol=1e-12)

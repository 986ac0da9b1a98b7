"""The delay-calculation cache: a hit equals the calculation, and whatever the delays depend on changes the key."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest

from characterize.generators import multiplier
from characterize.netlist.ir import Instance, Netlist
from characterize.timing.delay_cache import cached_delays, delay_key
from characterize.timing.delaycalc import ArcDelay, calculate_delays
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, default_external_load
from characterize.timing.vectors import simulate_vectors


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEDSE_CACHE_DIR", str(tmp_path))
    return tmp_path / "delays"


def assert_same(calc, expected):
    assert calc.arcs == expected.arcs and calc.sink_delay_s == expected.sink_delay_s
    assert calc.sink_slew_s == expected.sink_slew_s and calc.port_delay_s == expected.port_delay_s
    assert np.array_equal(calc.load_f, expected.load_f) and np.array_equal(calc.net_slews_s, expected.net_slews_s)
    assert np.array_equal(calc.order, expected.order)
    assert (calc.input_slew_s, calc.output_load_f) == (expected.input_slew_s, expected.output_load_f)


def test_second_call_reads_the_stored_calculation(library, cache):
    netlist = multiplier(4, True, "booth", library=library)
    load = default_external_load(library)
    expected = calculate_delays(netlist, DEFAULT_INPUT_SLEW_S, load)
    assert_same(cached_delays(netlist, DEFAULT_INPUT_SLEW_S, load), expected)
    (stored,) = cache.glob("*.pickle")
    assert_same(cached_delays(netlist, DEFAULT_INPUT_SLEW_S, load), expected)
    # what is read is the file: an entry changed on disk comes back changed
    kept = pickle.loads(stored.read_bytes())
    kept["arcs"] = (replace(kept["arcs"][0], delay_s=1.0), *kept["arcs"][1:])
    stored.write_bytes(pickle.dumps(kept))
    hit = cached_delays(netlist, DEFAULT_INPUT_SLEW_S, load)
    assert hit.netlist is netlist and isinstance(hit.arcs[0], ArcDelay) and hit.arcs[0].delay_s == 1.0


def test_an_unreadable_entry_is_calculated_again(library, cache):
    netlist = multiplier(3, False, "array", library=library)
    load = default_external_load(library)
    cached_delays(netlist, DEFAULT_INPUT_SLEW_S, load)
    (stored,) = cache.glob("*.pickle")
    stored.write_bytes(b"not a pickle")
    assert_same(cached_delays(netlist, DEFAULT_INPUT_SLEW_S, load),
                calculate_delays(netlist, DEFAULT_INPUT_SLEW_S, load))
    assert stored.read_bytes() != b"not a pickle"


def test_the_key_follows_slew_load_cells_wires_and_structure_but_not_names(library):
    netlist = multiplier(3, True, "booth", library=library)
    load = default_external_load(library)
    key = delay_key(netlist, DEFAULT_INPUT_SLEW_S, load)
    assert delay_key(netlist, DEFAULT_INPUT_SLEW_S, load) == key
    assert delay_key(netlist, DEFAULT_INPUT_SLEW_S * 2, load) != key
    assert delay_key(netlist, DEFAULT_INPUT_SLEW_S, load * 2) != key

    def rebuilt(lib=netlist.library, instances=netlist.instances, nets=netlist.nets):
        return Netlist(netlist.name, lib, nets, netlist.ports, instances)

    assert delay_key(rebuilt(), DEFAULT_INPUT_SLEW_S, load) == key
    renamed = [replace(inst, name=f"u{i}") for i, inst in enumerate(netlist.instances)]
    nets = netlist.nets[:2] + tuple(f"n_{name}" for name in netlist.nets[2:])
    assert delay_key(rebuilt(instances=renamed, nets=nets), DEFAULT_INPUT_SLEW_S, load) == key

    # one pin capacitance of one used cell, or the wire-load model, changes the key
    used = netlist.instances[0].cell
    cell = library.cells[used]
    pin = cell.inputs[0]
    heavier = replace(cell, capacitance={**cell.capacitance, pin: cell.capacitance[pin] * 1.01})
    assert heavier.digest != cell.digest
    changed_cell = replace(library, cells={**library.cells, used: heavier})
    assert delay_key(rebuilt(lib=changed_cell), DEFAULT_INPUT_SLEW_S, load) != key
    no_resistance = replace(library, wire_load=replace(library.wire_load, resistance_per_length=0.0))
    assert delay_key(rebuilt(lib=no_resistance), DEFAULT_INPUT_SLEW_S, load) != key

    # a swapped connection (same cells, other nets) changes it
    index, inst = next((i, inst) for i, inst in enumerate(netlist.instances) if len(set(inst.inputs)) > 1)
    swapped = Instance(inst.name, inst.cell, (inst.inputs[1], inst.inputs[0], *inst.inputs[2:]), inst.outputs)
    instances = (*netlist.instances[:index], swapped, *netlist.instances[index + 1:])
    assert delay_key(rebuilt(instances=instances), DEFAULT_INPUT_SLEW_S, load) != key


def test_dse_simulate_keeps_one_entry_per_netlist(tmp_path, monkeypatch, library):
    monkeypatch.setenv("GATEDSE_CACHE_DIR", str(tmp_path / "cache"))
    netlist = multiplier(3, True, "booth", library=library)
    vectors = tmp_path / "v.csv"
    names = sorted(p.name for p in netlist.inputs)
    vectors.write_text(f"{names[0]},{names[1]}\n1,2\n-3,1\n2,-4\n")
    first = simulate_vectors(netlist, vectors)
    again = simulate_vectors(netlist, vectors)
    assert len(list((tmp_path / "cache" / "delays").glob("*.pickle"))) == 1
    assert np.array_equal(first.result.toggles, again.result.toggles)
    assert first.critical_delay_s == again.critical_delay_s

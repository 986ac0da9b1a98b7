"""Sizing for delay: larger drive strengths on the critical path, same function, never a longer critical delay."""

from __future__ import annotations

import re

import pytest

from characterize.errors import NetlistError, SimulationError
from characterize.lut.report import summarize
from characterize.lut.sweep import SweepConfig, run_sweep
from characterize.netlist.techmap import DEFAULT_DONT_USE, CellMatcher
from characterize.lut.clocked_measure import min_period_ps
from characterize.passes.designs import MultiplierSpec, embedded_design, pe_design, reference_design, verify_product
from characterize.passes.netlist_design import NetlistDesign
from characterize.passes.sizing import size_cells, upsized_cells
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, default_external_load
from characterize.timing.sta import critical_path
from tests.conftest import shared_file

SPEC = MultiplierSpec(8, True, "booth")


def critical_ps(netlist) -> float:
    calc = calculate_delays(netlist, DEFAULT_INPUT_SLEW_S, default_external_load(netlist.library))
    return critical_path(calc).critical_delay_s * 1e12


def sized(netlist, matcher, size_for="delay"):
    return size_cells(netlist, matcher, size_for, DEFAULT_INPUT_SLEW_S, default_external_load(netlist.library))


@pytest.fixture(scope="module")
def booth8(sky130_full):
    matcher = CellMatcher(sky130_full)
    return matcher, reference_design(SPEC, sky130_full, matcher)


@pytest.mark.parametrize("weight", [-3, 85])
def test_delay_sizing_shortens_the_8bit_booth_critical_path_and_keeps_the_product(booth8, weight):
    matcher, reference = booth8
    mapped = embedded_design(reference, SPEC, weight, matcher)
    fast = sized(mapped, matcher)
    verify_product(fast, SPEC, weight=weight)  # every activation against a * w
    assert critical_ps(fast) < 0.9 * critical_ps(mapped)
    assert fast.area > mapped.area
    changed = [(a.cell, b.cell) for a, b in zip(mapped.instances, fast.instances) if a.cell != b.cell]
    assert upsized_cells(fast, matcher) == len(changed) > 0
    for small, large in changed:  # the same function in another size
        assert matcher.sizes(small)[0].cell == small and large in {m.cell for m in matcher.sizes(small)}
    assert upsized_cells(mapped, matcher) == 0


def test_sizing_for_area_is_the_mapping_itself(booth8):
    matcher, reference = booth8
    assert sized(reference, matcher, "area") is reference


def test_delay_sizing_uses_only_cells_the_dont_use_patterns_allow(booth8, sky130_full):
    _, reference = booth8
    matcher = CellMatcher(sky130_full, DEFAULT_DONT_USE + ("*_4", "*_8", "*_1[26]", "*fah*"))
    mapped = embedded_design(reference, SPEC, -3, matcher)
    fast = sized(mapped, matcher)
    assert upsized_cells(fast, matcher) > 0
    assert not any(matcher.excluded(inst.cell) for inst in fast.instances)
    assert critical_ps(fast) <= critical_ps(mapped)


def test_delay_sizing_refuses_a_netlist_with_flip_flops(library):
    pe = pe_design(MultiplierSpec(2, True, "array", mac_bits=5, pe=True), library)
    with pytest.raises(NetlistError, match="combinational netlists only; this one has .* flip-flops"):
        sized(pe, CellMatcher(library))


def test_sweep_reports_upsized_cells_per_weight(tmp_path):
    library = str(shared_file("sky130hd_tt.lib.gz"))
    spec = MultiplierSpec(4, True, "booth")
    luts = {size_for: run_sweep(SweepConfig(spec, "embedded", (-3, 5), vectors=50, library=library, size_for=size_for),
                                cache_dir=tmp_path, progress=False)
            for size_for in ("area", "delay")}
    assert "upsized_cells" not in luts["area"].table and luts["area"].meta["size_for"] == "area"
    fast, small = luts["delay"].weights, luts["area"].weights
    assert luts["delay"].meta["size_for"] == "delay"
    assert (fast["upsized_cells"] > 0).all()
    assert (fast["critical_delay_ps"] < small["critical_delay_ps"]).all()
    assert (fast["area_um2"] > small["area_um2"]).all()
    assert luts["delay"].reference["upsized_cells"] > 0
    assert re.search(r"sized for delay: \d+ \(w=-?\d+\) to \d+ \(w=-?\d+\) upsized cells per weight|"
                     r"sized for delay: \d+ upsized cells for every weight", summarize(luts["delay"]))
    assert "sized for" not in summarize(luts["area"])


def test_processing_element_gets_its_mac_sized(booth8, sky130_full):
    matcher = booth8[0]
    spec = MultiplierSpec(4, True, "booth", mac_bits=12, pe=True)
    load = default_external_load(sky130_full)
    small = pe_design(spec, sky130_full, matcher, 3)
    fast = pe_design(spec, sky130_full, matcher, 3, sized=lambda mac: sized(mac, matcher))  # MAC checked after sizing
    assert fast.register_count == small.register_count and upsized_cells(fast, matcher) > 0
    assert min_period_ps(fast, "clk", DEFAULT_INPUT_SLEW_S, load) < min_period_ps(small, "clk", DEFAULT_INPUT_SLEW_S, load)


def test_sizing_for_delay_is_refused_where_it_cannot_apply():
    clocked = NetlistDesign("pipeline.v", "w", "a", weight_bits=2, activation_bits=2, clock="clk")
    with pytest.raises(SimulationError, match="resizes combinational netlists .* only"):
        SweepConfig(clocked, "stationary", (1,), size_for="delay")
    with pytest.raises(SimulationError, match="size_for must be one of area, delay"):
        SweepConfig(MultiplierSpec(2), "embedded", (1,), size_for="speed")


def test_sizes_are_the_usable_cells_of_one_function_by_area(sky130_full):
    matcher = CellMatcher(sky130_full, DEFAULT_DONT_USE + ("*nand2_8",))
    names = [m.cell.removeprefix("sky130_fd_sc_hd__") for m in matcher.sizes("sky130_fd_sc_hd__nand2_1")]
    assert names == ["nand2_1", "nand2_2", "nand2_4"]
    inverters = [m.cell for m in matcher.sizes("sky130_fd_sc_hd__inv_1")]
    assert "sky130_fd_sc_hd__inv_16" in inverters and not any(matcher.excluded(c) for c in inverters)
    assert matcher.sizes("sky130_fd_sc_hd__dfxtp_1") == ()

"""Dont-use patterns keep a full library's special-purpose cells out of ordinary logic."""

from __future__ import annotations

import pytest

from cells import LibraryError
from characterize.netlist.techmap import DEFAULT_DONT_USE, CellMatcher
from characterize.passes.designs import (
    MultiplierSpec,
    embedded_design,
    embedded_designs,
    reference_design,
    verify_product,
)
from characterize.passes.resynthesis import resynthesize
from tests.conftest import require_tool


def test_full_sky130_maps_or2_and_inv_to_ordinary_cells(sky130_full):
    unrestricted = CellMatcher(sky130_full, ())
    assert unrestricted.role("OR2").cell == "sky130_fd_sc_hd__lpflow_inputiso1p_1"
    assert unrestricted.role("INV").cell == "sky130_fd_sc_hd__clkinv_1"
    matcher = CellMatcher(sky130_full)
    assert matcher.role("OR2").cell == "sky130_fd_sc_hd__or2_0"
    assert matcher.role("INV").cell == "sky130_fd_sc_hd__inv_1"
    spec = MultiplierSpec(4, True, "booth")
    design = embedded_design(reference_design(spec, sky130_full, matcher), spec, -3, matcher)
    used = {inst.cell for inst in design.instances}
    assert used and not any(matcher.excluded(cell) for cell in used)


def test_user_patterns_add_to_the_defaults_and_match_any_case(library):
    matcher = CellMatcher(library, DEFAULT_DONT_USE + ("*NAND2_1",))
    assert matcher.excluded("sky130_fd_sc_hd__nand2_1") and matcher.excluded("sky130_fd_sc_hd__clkinv_1")
    with pytest.raises(LibraryError, match="no cell for NAND2.*dont-use patterns exclude sky130_fd_sc_hd__nand2_1"):
        matcher.role("NAND2")


def test_yosys_route_reads_the_gzipped_full_library_and_keeps_to_the_allowed_cells(sky130_full):
    require_tool("yosys")
    spec = MultiplierSpec(4, True, "booth")
    defaults = CellMatcher(sky130_full)
    reference = reference_design(spec, sky130_full, defaults)
    unrestricted = {inst.cell for inst in resynthesize(reference, sky130_full, CellMatcher(sky130_full, ())).instances}
    assert any(defaults.excluded(cell) for cell in unrestricted)  # ABC takes clkinv_1 when it may
    assert not any(defaults.excluded(inst.cell) for inst in resynthesize(reference, sky130_full).instances)
    matcher = CellMatcher(sky130_full, DEFAULT_DONT_USE + ("*a32oi*", "*XNOR3*"))
    design = embedded_designs(reference, spec, -3, "yosys", matcher)["yosys"]
    used = {inst.cell for inst in design.instances}
    assert used and not any(matcher.excluded(cell) for cell in used)
    verify_product(design, spec, weight=-3)

"""Weight embedding in a user's netlist with flip-flops: registers the weight fixes go, the rest works as before."""

from __future__ import annotations

import numpy as np
import pytest

from cells.functions import truth_table
from characterize.errors import NetlistError
from characterize.netlist.logic import net_values
from characterize.netlist.techmap import CellMatcher
from characterize.netlist.verilog import read_verilog, write_verilog
from characterize.passes.clocked_embed import PIN_PORT, STATE_PORT, cut_registers, steady_registers, tie_states
from characterize.passes.designs import MultiplierSpec, reference_design
from characterize.passes.embed import embed_constant
from characterize.passes.netlist_design import check_embedding, open_design
from characterize.timing.clocked import annotate_registers, simulate_clocked
from characterize.timing.clocked_verilog import run_iverilog_clocked
from tests.characterize.test_clocked import DFF, PIPELINE
from tests.conftest import require_tool

SPEC = MultiplierSpec(4, True, "booth", "ripple", 12, pe=True)


@pytest.fixture(scope="module")
def pe4(library, tmp_path_factory):
    path = tmp_path_factory.mktemp("pe") / "pe4.v"
    path.write_text(write_verilog(reference_design(SPEC, library)))
    return open_design(path, library, "w", "a", clock="clk")


def cycle_trace(netlist, inputs: dict[str, np.ndarray], preload: dict[str, int] | None = None) -> list[dict]:
    """Output-port bits after each clock edge, without timing: every register takes its next state at the edge
    (clear and preset win), starting from 0, or from `preload` (instance name -> state)."""
    cells = netlist.library.cells
    registers = [inst for inst in netlist.instances if cells[inst.cell].sequential]
    state = {inst.name: (preload or {}).get(inst.name, 0) for inst in registers}
    core = cut_registers(netlist)
    rows = len(next(iter(inputs.values())))
    trace = []
    for row in range(rows):
        values = {name: np.array([int(v[row])], dtype=object) for name, v in inputs.items()}
        values["clk"] = np.array([1])
        for r, inst in enumerate(registers):
            cell = cells[inst.cell]
            q = state[inst.name]
            for k, (pin, net) in enumerate(zip(cell.outputs, inst.outputs)):
                if net >= 0:
                    table = truth_table(cell.functions[pin], cell.register.state)
                    values[STATE_PORT.format(register=r, pin=k)] = np.array([(table >> (q | ((1 - q) << 1))) & 1])
        nets = net_values(core, values)[:, 0]
        for r, inst in enumerate(registers):
            register = cells[inst.cell].register
            names = cells[inst.cell].inputs + register.state
            pins = [int(nets[core.port(PIN_PORT.format(register=r, pin=j)).nets[0]]) for j in range(len(inst.inputs))]
            q = state[inst.name]
            code = sum(b << j for j, b in enumerate(pins)) | (q << len(pins)) | ((1 - q) << (len(pins) + 1))
            state[inst.name] = (truth_table(register.data, names) >> code) & 1
            if register.clear and (truth_table(register.clear, names) >> code) & 1:
                state[inst.name] = 0
            elif register.preset and (truth_table(register.preset, names) >> code) & 1:
                state[inst.name] = 1
        trace.append({p.name: [int(nets[n]) for n in p.nets] for p in netlist.outputs})
    return trace


def pe_inputs(rows: int, weight: int | None = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(4)
    inputs = {"a": rng.integers(-8, 8, rows), "psum_in": rng.integers(0, 1 << 12, rows)}
    if weight is not None:
        inputs["w"] = np.full(rows, weight)
    return inputs


@pytest.mark.parametrize("weight", [-8, -3, 0, 5])
def test_embedded_pe_drops_the_weight_register_and_computes_the_same(pe4, library, weight):
    """Cycle by cycle the same outputs as the unembedded PE with the weight on its port, loaded before the first edge."""
    design, netlist = pe4
    embedded = design.embedded(netlist, weight, "simplify", CellMatcher(library))
    assert "w" not in [p.name for p in embedded.ports]
    assert embedded.registers == "16 flip-flops" and not any(i.name.startswith("w_reg") for i in embedded.instances)
    assert embedded.area < netlist.area
    loaded = {f"w_reg{i}": (weight >> i) & 1 for i in range(4)}
    want = cycle_trace(netlist, pe_inputs(60, weight), loaded)
    assert cycle_trace(embedded, pe_inputs(60)) == want
    assert len({str(t) for t in want}) > 50


def test_embedded_pe_agrees_with_iverilog(pe4, library, tmp_path):
    require_tool("iverilog")
    design, netlist = pe4
    clocked = annotate_registers(design.embedded(netlist, -3, "simplify", CellMatcher(library)), "clk")
    ours = simulate_clocked(clocked, pe_inputs(150), 3000)
    reference = run_iverilog_clocked(clocked, pe_inputs(150), 3000, tmp_path)
    np.testing.assert_array_equal(ours.toggles, reference.toggles)
    assert ours.toggles.sum() > 1000


@pytest.mark.parametrize("b", [4, 0])
def test_only_registers_the_weight_fixes_are_removed(library, tmp_path, b):
    """b feeds fb0..fb2 (removed); b[2] drives fy0's reset: kept whether it holds the reset inactive or active."""
    path = tmp_path / "pipe.v"
    path.write_text(PIPELINE)
    design, netlist = open_design(path, library, "b", "a", signed=False, clock="clk")
    embedded = design.embedded(netlist, b, "simplify", CellMatcher(library))
    registers = sorted(i.name for i in embedded.instances if library.cells[i.cell].sequential)
    assert registers == ["fa0", "fa1", "fa2", "fy0", "fy1", "fy2"]
    a = np.random.default_rng(1).integers(0, 8, 40)
    loaded = {f"fb{i}": (b >> i) & 1 for i in range(3)}
    want = cycle_trace(netlist, {"a": a, "b": np.full(40, b)}, loaded)
    assert cycle_trace(embedded, {"a": a}) == want
    # not loaded before the first edge, y differs in the second cycle unless the loaded value is 0
    assert (cycle_trace(netlist, {"a": a, "b": np.full(40, b)}) != want) == (b != 0)


GATED = f"""module gated (clk, a, w, y);
  input clk, a;
  input [1:0] w;
  output y;
  wire gclk, q;
  sky130_fd_sc_hd__and2_1 g (.A(clk), .B(w[0]), .X(gclk));
  {DFF} r (.CLK(gclk), .D(w[1]), .Q(q));
  sky130_fd_sc_hd__and2_1 o (.A(q), .B(a), .X(y));
endmodule
"""


def test_a_register_whose_clock_the_weight_stops_is_kept(library, tmp_path):
    """w = 2 stops r's clock: r never loads w[1] = 1, so it may not be replaced by that value."""
    path = tmp_path / "gated.v"
    path.write_text(GATED)
    design, netlist = open_design(path, library, "w", "a", signed=False, clock="clk")
    embedded = design.embedded(netlist, 2, "simplify", CellMatcher(library))
    assert [i.name for i in embedded.instances if library.cells[i.cell].sequential] == ["r"]
    a = np.random.default_rng(2).integers(0, 2, 30)
    assert cycle_trace(embedded, {"a": a}) == cycle_trace(netlist, {"a": a, "w": np.full(30, 2)})


def test_the_check_compares_the_logic_between_the_registers(pe4, library):
    _design, netlist = pe4
    matcher = CellMatcher(library)
    core = cut_registers(netlist)
    steady = steady_registers(netlist, embed_constant(core, "w", 5, matcher))
    assert sorted(steady) == [0, 1, 2, 3]  # the weight register's four flip-flops
    assert [steady[r] for r in range(4)] == [(1,), (0,), (1,), (0,)]  # 5 = 0b0101, bit 0 first
    expected = tie_states(core, netlist, steady)
    check_embedding(expected, embed_constant(expected, "w", 5, matcher), "w", 5)
    with pytest.raises(NetlistError, match="differs from"):
        check_embedding(expected, embed_constant(expected, "w", 4, matcher), "w", 5)


def test_a_port_named_like_a_register_pin_is_refused(library, tmp_path):
    path = tmp_path / "m.v"
    path.write_text("module m (clk, gatedse_q0_0, y);\n  input clk;\n  input gatedse_q0_0;\n  output y;\n"
                    "  sky130_fd_sc_hd__dfxtp_1 r (.CLK(clk), .D(gatedse_q0_0), .Q(y));\nendmodule\n")
    with pytest.raises(NetlistError, match="port gatedse_q0_0 clashes"):
        cut_registers(read_verilog(path, library))

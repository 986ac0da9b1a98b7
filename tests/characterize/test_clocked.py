"""Clocked simulation and sequential STA: exact against Icarus Verilog, within a few percent of OpenSTA."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from cells.default import default_library_path
from cells.liberty_reader import plain_liberty
from characterize.errors import NetlistError
from characterize.netlist.verilog import read_verilog
from characterize.timing.clocked import annotate_registers, energy_by_part, simulate_clocked
from characterize.timing.clocked_vectors import simulate_clocked_vectors, write_clocked_toggles
from characterize.timing.clocked_verilog import run_iverilog_clocked
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.sequential_sta import sequential_timing
from characterize.timing.sta import propagate
from tests.conftest import require_tool, shared_file

DFF, DFFR = "sky130_fd_sc_hd__dfxtp_1", "sky130_fd_sc_hd__dfrtp_1"

# Registers on a and b, a 3-bit adder whose carry chain glitches, registers on the sum (one with reset).
PIPELINE = f"""module pipe (clk, a, b, y);
  input clk;
  input [2:0] a;
  input [2:0] b;
  output [2:0] y;
  wire [2:0] ra, rb, s;
  wire c0, c1, n2;
  {DFF} fa0 (.CLK(clk), .D(a[0]), .Q(ra[0]));
  {DFF} fa1 (.CLK(clk), .D(a[1]), .Q(ra[1]));
  {DFF} fa2 (.CLK(clk), .D(a[2]), .Q(ra[2]));
  {DFF} fb0 (.CLK(clk), .D(b[0]), .Q(rb[0]));
  {DFF} fb1 (.CLK(clk), .D(b[1]), .Q(rb[1]));
  {DFF} fb2 (.CLK(clk), .D(b[2]), .Q(rb[2]));
  sky130_fd_sc_hd__ha_1 h0 (.A(ra[0]), .B(rb[0]), .SUM(s[0]), .COUT(c0));
  sky130_fd_sc_hd__fa_1 f1 (.A(ra[1]), .B(rb[1]), .CIN(c0), .SUM(s[1]), .COUT(c1));
  sky130_fd_sc_hd__xor2_1 x2 (.A(ra[2]), .B(rb[2]), .X(n2));
  sky130_fd_sc_hd__xor2_1 x3 (.A(n2), .B(c1), .X(s[2]));
  {DFFR} fy0 (.CLK(clk), .D(s[0]), .RESET_B(b[2]), .Q(y[0]));
  {DFF} fy1 (.CLK(clk), .D(s[1]), .Q(y[1]));
  {DFF} fy2 (.CLK(clk), .D(s[2]), .Q(y[2]));
endmodule
"""


@pytest.fixture(scope="module")
def pipeline(library, tmp_path_factory):
    path = tmp_path_factory.mktemp("pipe") / "pipe.v"
    path.write_text(PIPELINE)
    return annotate_registers(read_verilog(path, library), "clk")


@pytest.mark.parametrize("period", [2000, 700, 301])
def test_pipeline_agrees_with_iverilog(pipeline, tmp_path, period):
    """Toggles of every net equal Icarus's, down to periods that break setup (races included)."""
    require_tool("iverilog")
    rng = np.random.default_rng(period)
    inputs = {"a": rng.integers(0, 8, 200), "b": rng.integers(0, 8, 200)}
    ours = simulate_clocked(pipeline, inputs, period)
    reference = run_iverilog_clocked(pipeline, inputs, period, tmp_path)
    np.testing.assert_array_equal(ours.toggles, reference.toggles)
    np.testing.assert_array_equal(ours.last_output_event_steps, reference.last_output_event_steps)
    nets = pipeline.netlist.nets
    assert ours.glitches[nets.index("y[2]")] == 0 and ours.glitches.sum() > 0 and (ours.glitches >= 0).all()
    assert ours.toggles[nets.index("s[2]")] > ours.toggles[nets.index("y[2]")]  # the sum glitches, its register not


def test_gate_delays_agree_with_iverilog(library, tmp_path):
    """`per_arc=False` keeps one rise and fall per gate at the nominal slew with the inertial semantics of
    `assign #(R, F)`, replayed exactly by Icarus too."""
    require_tool("iverilog")
    path = tmp_path / "pipe.v"
    path.write_text(PIPELINE)
    clocked = annotate_registers(read_verilog(path, library), "clk", per_arc=False)
    assert not clocked.timed.per_arc
    rng = np.random.default_rng(3)
    inputs = {"a": rng.integers(0, 8, 200), "b": rng.integers(0, 8, 200)}
    ours = simulate_clocked(clocked, inputs, 500)
    reference = run_iverilog_clocked(clocked, inputs, 500, tmp_path / "icarus")
    np.testing.assert_array_equal(ours.toggles, reference.toggles)
    np.testing.assert_array_equal(ours.last_output_event_steps, reference.last_output_event_steps)
    assert ours.glitches.sum() > 0


def test_registers_launch_as_the_sequential_sta_times_them(pipeline):
    """Arc delays: a register output moves its clock-to-output delay after the clock port's edge, the wire
    to the clock pin and the slew there included, as the sequential STA's launch; the logic runs on per-arc
    delays from the same calculation."""
    netlist = pipeline.netlist
    assert pipeline.timed.per_arc
    calc = calculate_delays(netlist, pipeline.timed.input_slew_s, pipeline.timed.external_load_f)
    arrival = np.full((len(netlist.nets), 2), -np.inf)
    arrival[netlist.port("clk").nets[0], 0] = 0.0
    propagate(calc, arrival)
    steps = np.rint(arrival[pipeline.output_net] / pipeline.timed.resolution_s).astype(np.int64)
    np.testing.assert_array_equal(steps, np.stack([pipeline.output_rise, pipeline.output_fall], axis=1))
    assert len(set(pipeline.output_rise.tolist())) > 1  # each register at its own load
    rng = np.random.default_rng(4)
    result = simulate_clocked(pipeline, {"a": rng.integers(0, 8, 60), "b": rng.integers(0, 8, 60)}, 2000)
    outputs = [pipeline.output_net.tolist().index(netlist.nets.index(f"y[{k}]")) for k in range(3)]
    # after the clock edge at 1000, or after the row at 0 for y[0]'s asynchronous clear
    launches = {edge + int(d) for g in outputs for d in (pipeline.output_rise[g], pipeline.output_fall[g])
                for edge in (0, 1000)}
    assert set(result.last_output_event_steps.tolist()) <= launches | {-1}


def test_idle_registers_cost_their_clock_energy(pipeline):
    """Inputs that never change: every cycle costs the same, the clock network's energy plus leakage,
    at least the Liberty internal energy of every register's clock pin rising and falling."""
    netlist = pipeline.netlist
    ones = np.full(50, 5)
    result = simulate_clocked(pipeline, {"a": ones, "b": ones}, 2000)
    cycles = result.energy_per_cycle_j[1:]
    np.testing.assert_allclose(cycles, cycles[0], rtol=1e-12)
    flops = sum(1 for i in netlist.instances if netlist.library.cells[i.cell].sequential)
    clock_pin = next(a for a in netlist.library.cells[DFF].power if a.pin == "CLK")
    pin_energy = clock_pin.rise_energy.lookup(40e-12, 0.0) + clock_pin.fall_energy.lookup(40e-12, 0.0)
    assert cycles[0] > flops * pin_energy
    zeros = np.zeros(50, dtype=np.int64)  # the power-up state: nothing but the clock ever moves
    parts = energy_by_part(pipeline, simulate_clocked(pipeline, {"a": zeros, "b": zeros}, 2000).net_energy_j)
    assert parts["registers"] == 0.0 and parts["logic"] == 0.0 and parts["clock"] > 0


def test_a_vectors_file_through_the_clocked_simulation(pipeline, tmp_path):
    """`simulate_clocked_vectors`: simulate_clocked on the file's columns at the period in ps, with the energy
    split by part, the registers' timing and the toggles file."""
    rng = np.random.default_rng(1)
    inputs = {"a": rng.integers(0, 8, 40), "b": rng.integers(0, 8, 40)}
    vectors = tmp_path / "v.csv"
    vectors.write_text("b,a\n" + "".join(f"{b},{a}\n" for a, b in zip(inputs["a"], inputs["b"])))
    simulation = simulate_clocked_vectors(pipeline.netlist, vectors, "clk", 2000.0)
    direct = simulate_clocked(pipeline, inputs, round(2000e-12 / pipeline.timed.resolution_s))
    np.testing.assert_array_equal(simulation.result.toggles, direct.toggles)
    np.testing.assert_allclose(simulation.result.energy_per_cycle_j, direct.energy_per_cycle_j, rtol=1e-12)
    parts = energy_by_part(pipeline, direct.net_energy_j)
    assert simulation.energy_by_part_j == pytest.approx(parts)
    assert simulation.switching_shares["clock"] == pytest.approx(parts["clock"] / sum(parts.values()))
    record = simulation.record()
    assert record["cycles"] == simulation.cycles == 39
    assert record["setup_slack_ps"] == pytest.approx(2000.0 - sequential_timing(pipeline).min_period_ps)
    assert record["energy_per_cycle_fJ"] == pytest.approx(direct.energy_per_cycle_j.mean() * 1e15)
    rows = write_clocked_toggles(simulation, tmp_path / "t.csv").read_text().splitlines()
    assert rows[0] == "net,toggles" and len(rows) == len(pipeline.netlist.nets) - 1
    assert f"clk,{2 * 39}" in rows


def opensta_period_ps(liberty, netlist_path, top, clocked, tmp_path, input_delay_ns: float = 0.0) -> tuple[float, float]:
    """OpenSTA's minimum period (create_clock, propagated clock, this input delay, zero output delay) and worst hold
    slack, in ps: the period less the worst setup slack at a period long enough for every check."""
    setup, hold = opensta_slacks_ps(liberty, netlist_path, top, clocked, tmp_path, 20.0, input_delay_ns)
    return 20_000.0 - setup, hold


def opensta_slacks_ps(liberty, netlist_path, top, clocked, tmp_path, period_ns: float,
                      input_delay_ns: float = 0.0) -> tuple[float, float]:
    """OpenSTA's worst setup and hold slack (ps) of the clock's path group at a period."""
    liberty = plain_liberty(liberty, tmp_path)
    script = tmp_path / "sta.tcl"
    script.write_text(
        f"read_liberty {liberty}\nread_verilog {netlist_path}\nlink_design {top}\n"
        f"create_clock -name clk -period {period_ns} [get_ports clk]\nset_propagated_clock [all_clocks]\n"
        f"set_input_delay {input_delay_ns} -clock clk [delete_from_list [all_inputs] [get_ports clk]]\n"
        "set_output_delay 0 -clock clk [all_outputs]\nset_input_transition 0.04 [all_inputs]\n"
        f"set_load {clocked.timed.external_load_f * 1e12} [all_outputs]\n"
        "report_checks -path_delay max -digits 4 -group_count 3\nreport_checks -path_delay min -digits 4 -group_count 3\n"
    )
    out = subprocess.run(["sta", "-no_splash", "-exit", str(script)], capture_output=True, text=True, check=True).stdout
    late, _, early = out.partition("Path Type: min")

    def worst(text: str) -> float:
        groups = [g for g in text.split("Startpoint:") if "Path Group: clk" in g]
        return min(float(x) for g in groups for x in re.findall(r"(-?\d+\.\d+)\s+slack", g))

    return worst(late) * 1000, worst(early) * 1000


def test_pipeline_period_near_opensta(pipeline, tmp_path, library):
    require_tool("sta")
    path = tmp_path / "pipe.v"
    path.write_text(PIPELINE)
    ours = sequential_timing(pipeline, input_arrival=0.0)
    period, hold = opensta_period_ps(default_library_path(), path, "pipe", pipeline, tmp_path)
    assert ours.critical.kind == "register-to-register" and ours.critical.endpoint == "fy2/D"
    assert abs(ours.min_period_ps / period - 1) < 0.001
    assert abs(ours.hold_slack_ps - hold) < 5


@pytest.mark.slow
def test_gcd_clocked_agrees_with_iverilog_and_opensta(sky130_full, tmp_path):
    """OpenSTA's own example, its tap cells ignored: exact toggles over 300 cycles, period within 0.1 %."""
    path = shared_file("gcd_sky130hd.v")
    clocked = annotate_registers(read_verilog(path, sky130_full), "clk")
    rng = np.random.default_rng(3)
    reset = np.zeros(300, dtype=np.int64)
    reset[:3] = 1
    inputs = {"req_msg": rng.integers(0, 1 << 32, 300), "req_val": rng.integers(0, 2, 300), "reset": reset,
              "resp_rdy": rng.integers(0, 2, 300)}
    timing = sequential_timing(clocked, input_arrival=0.0)
    require_tool("iverilog")
    for period in (int(timing.min_period_ps) + 200, 1500):
        ours = simulate_clocked(clocked, inputs, period)
        reference = run_iverilog_clocked(clocked, inputs, period, tmp_path / str(period))
        np.testing.assert_array_equal(ours.toggles, reference.toggles)
        np.testing.assert_array_equal(ours.last_output_event_steps, reference.last_output_event_steps)
        assert ours.toggles.sum() > 10_000
    require_tool("sta")
    period, hold = opensta_period_ps(shared_file("sky130hd_tt.lib.gz"), path, "gcd", clocked, tmp_path)
    assert abs(timing.min_period_ps / period - 1) < 0.001 and abs(timing.hold_slack_ps - hold) < 5


def test_clock_into_a_data_pin_is_rejected(library, tmp_path):
    path = tmp_path / "bad.v"
    path.write_text(f"module bad (clk, y);\n  input clk;\n  output y;\n  wire n;\n  sky130_fd_sc_hd__inv_1 u (.A(clk), .Y(n));\n"
                    f"  {DFF} r (.CLK(clk), .D(n), .Q(y));\nendmodule\n")
    with pytest.raises(NetlistError, match=r"bad\.v:6: instance r: clock clk drives data pin D$"):
        annotate_registers(read_verilog(path, library), "clk")


def test_loop_through_a_register_is_legal(library, tmp_path):
    """A toggle flip-flop: the loop runs through the register's D pin, so it reads and counts every cycle."""
    path = tmp_path / "toggle.v"
    path.write_text(f"module toggle (clk, e, y);\n  input clk;\n  input e;\n  output y;\n  wire n;\n"
                    f"  sky130_fd_sc_hd__xor2_1 u (.A(y), .B(e), .X(n));\n  {DFF} r (.CLK(clk), .D(n), .Q(y));\nendmodule\n")
    clocked = annotate_registers(read_verilog(path, library), "clk")
    result = simulate_clocked(clocked, {"e": np.ones(40, dtype=np.int64)}, 1000)
    assert result.toggles[clocked.netlist.nets.index("y")] == 39
    timing = sequential_timing(clocked, input_arrival=0.0)  # the loop is a register-to-register path
    assert timing.critical.endpoint == "r/D" and [p.split()[0] for p in timing.critical.path] == ["clk", "y", "n"]


# The pipeline's registered adder, its sum caught by latches: transparent while the clock is high (dlxtp, dlrtp
# with reset) or low (dlxtn), so the glitches of the carry chain pass to the outputs while a latch is open.
LATCHES = PIPELINE.replace("module pipe", "module latches").replace(
    f"  {DFFR} fy0 (.CLK(clk), .D(s[0]), .RESET_B(b[2]), .Q(y[0]));\n  {DFF} fy1 (.CLK(clk), .D(s[1]), .Q(y[1]));\n"
    f"  {DFF} fy2 (.CLK(clk), .D(s[2]), .Q(y[2]));\n",
    "  sky130_fd_sc_hd__dlrtp_1 ly0 (.GATE(clk), .D(s[0]), .RESET_B(b[2]), .Q(y[0]));\n"
    "  sky130_fd_sc_hd__dlxtn_1 ly1 (.GATE_N(clk), .D(s[1]), .Q(y[1]));\n"
    "  sky130_fd_sc_hd__dlxtp_1 ly2 (.GATE(clk), .D(s[2]), .Q(y[2]));\n")


@pytest.mark.parametrize("period", [2000, 700])
def test_latches_agree_with_iverilog(sky130_full, tmp_path, period):
    """Latches hold while closed and follow their data while open: toggles of every net equal Icarus's."""
    require_tool("iverilog")
    path = tmp_path / "latches.v"
    path.write_text(LATCHES)
    clocked = annotate_registers(read_verilog(path, sky130_full), "clk")
    assert clocked.reg_latch.sum() == 3
    rng = np.random.default_rng(period)
    inputs = {"a": rng.integers(0, 8, 200), "b": rng.integers(0, 8, 200)}
    ours = simulate_clocked(clocked, inputs, period)
    reference = run_iverilog_clocked(clocked, inputs, period, tmp_path)
    np.testing.assert_array_equal(ours.toggles, reference.toggles)
    np.testing.assert_array_equal(ours.last_output_event_steps, reference.last_output_event_steps)
    nets = clocked.netlist.nets
    assert ours.glitches[nets.index("y[2]")] > 0  # open while the sum settles, the latch passes its glitches
    assert (ours.last_output_event_steps > period // 2).sum() > 10  # outputs still moving after the rising edge


def test_latch_period_is_where_opensta_borrows_all_it_may(sky130_full, tmp_path):
    """Latches timed as registers, captured at their closing edge: at our minimum period OpenSTA's worst setup slack
    is 0 (the positive latch borrows the whole high phase), 1 % below it negative."""
    require_tool("sta")
    path = tmp_path / "latches.v"
    path.write_text(LATCHES)
    clocked = annotate_registers(read_verilog(path, sky130_full), "clk")
    ours = sequential_timing(clocked, input_arrival=0.0)
    assert ours.critical.endpoint == "ly2/D" and ours.critical.kind == "register-to-register"
    period_ns = ours.min_period_ps / 1000
    setup, _hold = opensta_slacks_ps(shared_file("sky130hd_tt.lib.gz"), path, "latches", clocked, tmp_path, period_ns)
    assert abs(setup) < 0.2
    setup, _hold = opensta_slacks_ps(shared_file("sky130hd_tt.lib.gz"), path, "latches", clocked, tmp_path,
                                     0.99 * period_ns)
    assert setup < -5


# The pipeline with its middle sum bit caught on the falling clock edge: a half-period path from the rising edge.
NEGEDGE = PIPELINE.replace("module pipe", "module half").replace(
    f"  {DFF} fy1 (.CLK(clk), .D(s[1]), .Q(y[1]));\n",
    "  sky130_fd_sc_hd__dfrtn_1 fy1 (.CLK_N(clk), .D(s[1]), .RESET_B(rb[2]), .Q(y[1]));\n")


def test_falling_edge_register_gets_half_a_period(sky130_full, tmp_path):
    """Launched on the rising edge, captured on the falling one: OpenSTA's worst slack is 0 at our minimum period,
    negative 1 % below it, and the simulation at that period agrees with Icarus."""
    require_tool("sta")
    path = tmp_path / "half.v"
    path.write_text(NEGEDGE)
    clocked = annotate_registers(read_verilog(path, sky130_full), "clk")
    ours = sequential_timing(clocked, input_arrival=0.0)
    assert ours.critical.endpoint == "fy1/D"
    period_ns = ours.min_period_ps / 1000
    for scale, low, high in ((1.0, -0.2, 0.2), (0.99, -1e9, -3)):
        setup, _hold = opensta_slacks_ps(shared_file("sky130hd_tt.lib.gz"), path, "half", clocked, tmp_path,
                                         scale * period_ns)
        assert low < setup < high
    require_tool("iverilog")
    rng = np.random.default_rng(5)
    inputs = {"a": rng.integers(0, 8, 150), "b": rng.integers(0, 8, 150)}
    period = int(np.ceil(sequential_timing(clocked).min_period_ps))
    result = simulate_clocked(clocked, inputs, period)
    assert result.races == 0
    reference = run_iverilog_clocked(clocked, inputs, period, tmp_path)
    np.testing.assert_array_equal(result.toggles, reference.toggles)
    np.testing.assert_array_equal(result.last_output_event_steps, reference.last_output_event_steps)

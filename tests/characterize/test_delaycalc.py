"""NLDM delay calculation and the critical path: by hand on one stage, against OpenSTA on real netlists, SDF out and in."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace

import pytest

from characterize.errors import NetlistError
from characterize.netlist.builder import NetlistBuilder
from characterize.passes.designs import MultiplierSpec, embedded_design, reference_design
from characterize.passes.resynthesis import resynthesize
from characterize.timing.delaycalc import FALL, RISE, calculate_delays, sink_counts
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, default_external_load
from characterize.timing.opensta import opensta_critical_delay
from characterize.timing.opensta_power import opensta_binary
from characterize.timing.sdf import format_sdf, read_sdf, write_sdf
from characterize.timing.sta import critical_path
from tests.conftest import require_tool


def inverter_into_nand(library):
    builder = NetlistBuilder("stage", library)
    a, b = builder.input("a", 1)[0], builder.input("b", 1)[0]
    inverted = builder.gate("INV", a)
    builder.output("y", [builder.gate("NAND2", inverted, b)])
    return builder.build()


def test_one_stage_by_hand(library):
    # without wire resistance a load is a plain capacitance: table values at the total load, no wire delay
    wire = replace(library.wire_load, resistance_per_length=0.0)
    capacitive = replace(library, wire_load=wire)
    netlist = inverter_into_nand(capacitive)
    load = default_external_load(library)
    calc = calculate_delays(netlist, 30e-12, load)
    inverter = next(i for i, inst in enumerate(netlist.instances) if "inv" in inst.cell)
    nand_index, nand = next((i, inst) for i, inst in enumerate(netlist.instances) if "nand" in inst.cell)
    inv_cell, nand_cell = library.cells[netlist.instances[inverter].cell], library.cells[nand.cell]
    net = netlist.instances[inverter].outputs[0]
    pin = nand.inputs.index(net)
    rising_load = nand_cell.pin_capacitance(nand_cell.inputs[pin], True) + wire.capacitance(1)
    assert calc.load_f[net, RISE] == pytest.approx(rising_load)
    table = inv_cell.arcs_to(inv_cell.outputs[0])[0]
    rise = next(a for a in calc.arcs if a.instance == inverter and a.to_edge == RISE)
    assert rise.from_edge == FALL  # an inverter's output rises when its input falls
    assert rise.delay_s == pytest.approx(table.cell_rise.lookup(30e-12, rising_load))
    assert calc.net_slews_s[net, RISE] == pytest.approx(table.rise_transition.lookup(30e-12, rising_load))
    assert calc.sink_delay_s[(nand_index, pin)] == (0.0, 0.0)
    # the nand's arc from that pin sees the inverter's output slew, not the primary input's
    nand_arc = next(a for a in calc.arcs if a.instance == nand_index and a.from_pin == nand_cell.inputs[pin]
                    and a.from_edge == RISE)
    y = nand.outputs[0]
    table = next(a for a in nand_cell.arcs_to(nand_cell.outputs[0]) if a.related_pin == nand_cell.inputs[pin])
    assert nand_arc.delay_s == pytest.approx(table.cell_fall.lookup(calc.net_slews_s[net, RISE], calc.load_f[y, FALL]))
    assert sink_counts(netlist)[y] == 1 and calc.load_f[y, FALL] == pytest.approx(load + wire.capacitance(1))


def test_wire_resistance_gives_elmore_delays_and_shields_the_driver(library):
    netlist = inverter_into_nand(library)
    calc = calculate_delays(netlist, 30e-12, default_external_load(library))
    wire = library.wire_load
    inverter = next(i for i, inst in enumerate(netlist.instances) if "inv" in inst.cell)
    inv_cell = library.cells[netlist.instances[inverter].cell]
    # an input port drives its sink through the Elmore delay of its share of the wire, at the port's slew
    elmore = wire.resistance(1) * (wire.capacitance(1) + inv_cell.pin_capacitance("A", True))
    assert calc.sink_delay_s[(inverter, 0)][RISE] == pytest.approx(elmore)
    assert calc.sink_slew_s[(inverter, 0)] == (30e-12, 30e-12)
    # behind the wire resistance the driver sees less than the whole load (DMP), so it is faster than the table
    net = netlist.instances[inverter].outputs[0]
    rise = next(a for a in calc.arcs if a.instance == inverter and a.to_edge == RISE)
    table = inv_cell.arcs_to("Y")[0].cell_rise.lookup(30e-12, calc.load_f[net, RISE])
    assert 0.9 * table < rise.delay_s < table


def test_slower_input_slew_slows_the_path(library):
    netlist = reference_design(MultiplierSpec(4, True, "array"), library)
    load = default_external_load(library)
    fast = critical_path(calculate_delays(netlist, 10e-12, load)).critical_delay_s
    slow = critical_path(calculate_delays(netlist, 400e-12, load)).critical_delay_s
    assert slow > fast


def test_path_stages_add_up(library):
    netlist = reference_design(MultiplierSpec(6, True, "booth"), library)
    report = critical_path(calculate_delays(netlist, DEFAULT_INPUT_SLEW_S, default_external_load(library)))
    assert report.path[0].arc == "in" and report.path[-1].pin.endswith("(out)")
    total = 0.0
    for stage in report.path:
        total += stage.delay_s
        assert stage.arrival_s == pytest.approx(total)
    assert report.critical_delay_s == pytest.approx(total)
    record = json.loads(json.dumps(report.record()))  # what `dse timing --json` writes, in ps and fF
    assert record["critical_delay_ps"] == pytest.approx(total * 1e12)
    assert [stage["pin"] for stage in record["path"]] == [stage.pin for stage in report.path]
    assert record["path"][-1]["arrival_ps"] == pytest.approx(total * 1e12)
    loads = [(entry["load_ff"], stage.load_f) for entry, stage in zip(record["path"], report.path)]
    assert all(ff is None if f is None else ff == pytest.approx(f * 1e15) for ff, f in loads)


def opensta_netlists(library):
    yield reference_design(MultiplierSpec(8, True, "booth"), library)
    yield reference_design(MultiplierSpec(6, False, "wallace", adder="cla"), library)
    spec = MultiplierSpec(8, True, "array")
    yield embedded_design(reference_design(spec, library), spec, 37)


def opensta_tolerance() -> float:
    """Relative tolerance against the OpenSTA in use: 2.0.17 (Debian, CI) agrees to 1e-4; later versions
    compute driver and input-port wire slews a little differently, so only the 2 % goal holds there."""
    version = subprocess.run([opensta_binary(), "-version"], capture_output=True, text=True, check=False).stdout
    return 1e-4 if version.strip() == "2.0.17" else 0.02


@pytest.mark.parametrize("index", [0, 1, 2])
def test_critical_delay_equals_opensta(library, index):
    require_tool("sta")
    netlist = list(opensta_netlists(library))[index]
    load = default_external_load(library)
    ours = critical_path(calculate_delays(netlist, DEFAULT_INPUT_SLEW_S, load)).critical_delay_s
    reference = opensta_critical_delay(netlist, DEFAULT_INPUT_SLEW_S, load)
    assert ours == pytest.approx(reference, rel=opensta_tolerance())


def test_yosys_mapped_netlist_equals_opensta(library):
    require_tool("sta")
    require_tool("yosys")
    netlist = resynthesize(reference_design(MultiplierSpec(6, True, "dadda"), library), library)
    ours = critical_path(calculate_delays(netlist, 80e-12, 5e-15)).critical_delay_s
    assert ours == pytest.approx(opensta_critical_delay(netlist, 80e-12, 5e-15), rel=opensta_tolerance())


def test_sdf_round_trip_and_opensta_reads_ours_within_2_ps(library, tmp_path):
    netlist = reference_design(MultiplierSpec(6, True, "booth"), library)
    load = default_external_load(library)
    calc = calculate_delays(netlist, DEFAULT_INPUT_SLEW_S, load)
    ours = critical_path(calc).critical_delay_s
    path = write_sdf(calc, tmp_path / "ours.sdf")
    again = read_sdf(path, netlist, DEFAULT_INPUT_SLEW_S, load)
    assert critical_path(again).critical_delay_s == pytest.approx(ours, abs=1e-15)
    require_tool("sta")
    assert opensta_critical_delay(netlist, DEFAULT_INPUT_SLEW_S, load, sdf=path) == pytest.approx(ours, abs=2e-12)


def test_reads_the_sdf_opensta_writes(library, tmp_path):
    require_tool("sta")
    from characterize.timing.opensta import opensta_write_sdf

    netlist = reference_design(MultiplierSpec(6, True, "booth"), library)
    load = default_external_load(library)
    path = opensta_write_sdf(netlist, DEFAULT_INPUT_SLEW_S, load, tmp_path / "sta.sdf")
    assert "INTERCONNECT" in path.read_text() and "TIMESCALE 1ns" in path.read_text()
    ours = critical_path(read_sdf(path, netlist, DEFAULT_INPUT_SLEW_S, load)).critical_delay_s
    assert ours == pytest.approx(opensta_critical_delay(netlist, DEFAULT_INPUT_SLEW_S, load, sdf=path), rel=0.005)


def small_sdf(library, tmp_path, body: str):
    netlist = inverter_into_nand(library)
    path = tmp_path / "small.sdf"
    text = format_sdf(calculate_delays(netlist, DEFAULT_INPUT_SLEW_S, 1e-15))
    path.write_text(text[: text.rindex(")")] + body + ")\n")
    return netlist, path


@pytest.mark.parametrize(
    "body,message",
    [
        ('(CELL (CELLTYPE "x") (INSTANCE nobody) (DELAY (ABSOLUTE)))', "instance nobody is not in netlist"),
        ("(CELL (CELLTYPE \"x\") (INSTANCE)\n (DELAY (ABSOLUTE (COND a (IOPATH a y (1))))))", "unsupported SDF construct (COND)"),
        ('(CELL (CELLTYPE "x") (INSTANCE) (TIMINGCHECK (SETUP a b (1))))', "unsupported SDF construct (TIMINGCHECK)"),
        ('(CELL (CELLTYPE "x") (INSTANCE) (DELAY (INCREMENT (IOPATH a y (1)))))', "only ABSOLUTE"),
    ],
)
def test_bad_sdf_names_the_line(library, tmp_path, body, message):
    netlist, path = small_sdf(library, tmp_path, body)
    with pytest.raises(NetlistError, match=re.escape(message)) as caught:
        read_sdf(path, netlist, DEFAULT_INPUT_SLEW_S, 1e-15)
    assert str(caught.value).startswith(f"{path}:")


def test_sdf_missing_an_instance_or_naming_an_unknown_pin_is_an_error(library, tmp_path):
    netlist = inverter_into_nand(library)
    text = format_sdf(calculate_delays(netlist, DEFAULT_INPUT_SLEW_S, 1e-15))
    inv = next(inst for inst in netlist.instances if "inv" in inst.cell)
    start = text.index(f"(INSTANCE {inv.name})")
    block_start = text.rindex("\n  (CELL\n", 0, start) + 1
    block_end = text.index("\n  )\n", start) + 5
    (tmp_path / "missing.sdf").write_text(text[:block_start] + text[block_end:])
    with pytest.raises(NetlistError, match=f"no IOPATH for instance.*{inv.name}"):
        read_sdf(tmp_path / "missing.sdf", netlist, DEFAULT_INPUT_SLEW_S, 1e-15)
    (tmp_path / "pin.sdf").write_text(text.replace("(IOPATH A Y", "(IOPATH Q Y", 1))
    with pytest.raises(NetlistError, match="has no arc Q -> Y"):
        read_sdf(tmp_path / "pin.sdf", netlist, DEFAULT_INPUT_SLEW_S, 1e-15)

"""Energy per operation against OpenSTA `report_power` on the same activity (VCD from Icarus, and our SAIF)."""

from __future__ import annotations

import numpy as np
import pytest

from characterize.lut.activations import activation_sequence
from characterize.passes.designs import MultiplierSpec, embedded_design, reference_design
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, annotate_arc_delays, default_external_load
from characterize.timing.opensta_power import opensta_binary, pin_vcd, report_power, supports
from characterize.timing.power import simulate_energy
from characterize.timing.saif import write_saif
from characterize.timing.timed_verilog import module_name, run_iverilog
from tests.conftest import require_tool

VECTORS = 400


def opensta_with(command: str) -> str:
    """An OpenSTA that knows `command`, or skip with the reason."""
    binary = opensta_binary()
    if binary is None:
        pytest.skip("OpenSTA is not installed (set GATEDSE_OPENSTA to its sta binary)")
    if not supports(binary, command):
        pytest.skip(f"{binary} has no {command} (OpenSTA 2.0.17 lacks it; set GATEDSE_OPENSTA to a recent build)")
    return binary


@pytest.fixture(scope="module")
def replay(library, tmp_path_factory):
    """A 6-bit Booth multiplier with weight -21 on arc delays (as `dse simulate` runs it): our energy run and the
    Icarus VCD of the same transitions."""
    require_tool("iverilog")
    spec = MultiplierSpec(6, True, "booth")
    design = embedded_design(reference_design(spec, library), spec, -21)
    timed = annotate_arc_delays(calculate_delays(design, DEFAULT_INPUT_SLEW_S, default_external_load(library)))
    inputs = {"a": activation_sequence(VECTORS + 1, -32, 31, 0, None)}
    workdir = tmp_path_factory.mktemp("opensta")
    period = timed.settle_bound_steps + 1
    run_iverilog(timed, inputs, workdir / "icarus", period_steps=period)
    vcd = pin_vcd(design, workdir / "icarus" / "dump.vcd", workdir / "pins.vcd")
    return timed, inputs, simulate_energy(timed, inputs), vcd, period * timed.resolution_s, workdir


def opensta_energy(replay, activity_file, scope, binary):
    """OpenSTA's energy (J) per operation in total and per instance, for the VCD layout of N + 1 periods."""
    timed, _, _, _, period_s, workdir = replay
    report = report_power(timed.netlist, activity_file, workdir / activity_file.suffix[1:], scope,
                          timed.input_slew_s, timed.external_load_f, period_s, binary)
    per_op = (VECTORS + 1) * period_s / VECTORS
    instances = {name: (i + s) * per_op + leak * period_s for name, (i, s, leak) in report.instances.items()}
    return (report.internal_w + report.switching_w) * per_op + report.leakage_w * period_s, instances


def test_energy_per_operation_is_within_5_percent_of_opensta(replay):
    binary = opensta_with("read_vcd")
    timed, _, run, vcd, period_s, _ = replay
    total, instances = opensta_energy(replay, vcd, "tb/dut", binary)
    assert run.energy_per_op_j(period_s) == pytest.approx(total, rel=0.05)
    internal, switching = run.model.instance_energy_j(run.activity.toggles_per_op)
    ours = internal + switching + run.model.leakage_w * period_s
    names = [inst.name for inst in timed.netlist.instances]
    largest = sorted(range(len(names)), key=lambda i: -instances[names[i]])[:20]
    assert len(largest) == 20
    for i in largest:
        assert ours[i] == pytest.approx(instances[names[i]], rel=0.10), names[i]


def test_opensta_reads_our_saif_as_it_reads_the_vcd(replay):
    binary = opensta_with("read_saif")
    timed, inputs, _, vcd, period_s, workdir = replay
    saif = write_saif(timed, inputs, workdir / "run.saif", period_steps=round(period_s / timed.resolution_s))
    from_saif, per_instance = opensta_energy(replay, saif, module_name(timed.netlist), binary)
    from_vcd, _ = opensta_energy(replay, vcd, "tb/dut", binary)
    assert from_saif == pytest.approx(from_vcd, rel=0.01)
    assert len(per_instance) == len(timed.netlist.instances)
    assert np.isfinite(from_saif) and from_saif > 0

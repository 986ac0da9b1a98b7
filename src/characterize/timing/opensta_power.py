"""OpenSTA's `report_power` on our netlist and activity: the sign-off reference for the energy model.

OpenSTA's `read_vcd` annotates cell pins by hierarchical name (`U3/A`), while the
VCD of our timed netlist names nets, so `pin_vcd` adds, per instance, a scope whose
pins share the identifier codes of their nets. The netlist is written as structural Verilog, the activity comes as a VCD (OpenSTA
`read_vcd`, in OpenSTA after 2.0.17) or a SAIF (`read_saif`); loads and slews are set
as the timing simulator assumes them: the library's default wire-load model (which
OpenSTA applies only when asked), the external load on every output-port bit, one
transition time on every input port.
OpenSTA is found through the environment variable GATEDSE_OPENSTA (path of its `sta`
binary), else as `sta` on the PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cells.liberty_reader import plain_liberty
from cells.model import Library
from characterize.errors import SimulationError
from characterize.netlist.ir import Netlist
from characterize.netlist.verilog import write_verilog
from characterize.timing.timed_verilog import module_name, wire_name

OPENSTA_ENV = "GATEDSE_OPENSTA"
_NUMBER = r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?"
_TOTAL = re.compile(rf"^Total\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})")
_INSTANCE = re.compile(rf"^\s*({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s+(\S+)\s*$")
_SLEW = re.compile(rf"^slew (\S+) ({_NUMBER}) ({_NUMBER})$")


def opensta_binary() -> str | None:
    """Path of the OpenSTA binary: $GATEDSE_OPENSTA, else `sta` on the PATH, else None."""
    chosen = os.environ.get(OPENSTA_ENV)
    if chosen:
        return chosen if Path(chosen).is_file() else None
    return shutil.which("sta")


def supports(binary: str, command: str) -> bool:
    """Whether this OpenSTA knows a Tcl command (e.g. `read_vcd`, missing before OpenSTA 2.1)."""
    with tempfile.TemporaryDirectory(prefix="gatedse-opensta-") as folder:
        probe = Path(folder) / "probe.tcl"
        probe.write_text(f'puts "has [llength [info commands {command}]]"\n')
        done = subprocess.run([binary, "-no_init", "-no_splash", "-exit", str(probe)], cwd=folder,
                              capture_output=True, text=True, check=False)
    return "has 1" in done.stdout


def wire_load_model_command(library: Library) -> str:
    """The Tcl line that sets `library`'s default wire-load model, or "" for a library without one.

    OpenSTA 2.0.17 applies `default_wire_load` by itself, later versions (2.7) only
    after `set_wire_load_model`; stating it gives both the loads our delay
    calculation and energy model use.
    """
    return f"set_wire_load_model -name {{{library.wire_load.name}}}\n" if library.wire_load else ""


@dataclass(frozen=True)
class PowerReport:
    """OpenSTA's power (W) in total and per instance (internal, switching, leakage), and per-net slews (s).

    `slews` maps a net name to the (rise, fall) transition at its load pins, as
    OpenSTA's delay calculation found them.
    """

    internal_w: float
    switching_w: float
    leakage_w: float
    instances: dict[str, tuple[float, float, float]]
    slews: dict[str, tuple[float, float]]

    @property
    def total_w(self) -> float:
        return self.internal_w + self.switching_w + self.leakage_w


def report_power(
    netlist: Netlist,
    activity_file: str | Path,
    workdir: str | Path,
    scope: str,
    input_slew_s: float,
    external_load_f: float,
    period_s: float,
    binary: str | None = None,
    wire_load: bool = True,
) -> PowerReport:
    """Run OpenSTA `report_power` on `netlist` with the activity of a VCD or SAIF file (by suffix).

    `scope` is the netlist's instance path in the activity file, e.g. `tb/dut`;
    `period_s` the period of the virtual clock OpenSTA asks for before reading a VCD.
    `wire_load` sets the library's default wire-load model, which OpenSTA applies
    only on request (our netlist loads include it).
    """
    binary = binary or opensta_binary()
    if binary is None:
        raise SimulationError(f"OpenSTA not found: set {OPENSTA_ENV} to its sta binary")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    library = netlist.library
    (workdir / "netlist.v").write_text(write_verilog(netlist))
    reader = "read_saif" if Path(activity_file).suffix == ".saif" else "read_vcd"
    wire_model = wire_load_model_command(library) if wire_load else ""
    time_unit, cap_unit = library.units.time, library.units.capacitance
    script = (
        f"read_liberty {{{plain_liberty(Path(library.source).resolve(), workdir)}}}\n"
        f"read_verilog {{{(workdir / 'netlist.v').resolve()}}}\n"
        f"link_design {module_name(netlist)}\n"
        f"{wire_model}"
        f"create_clock -name virtual -period {period_s / time_unit!r}\n"
        f"set_input_transition {input_slew_s / time_unit!r} [all_inputs]\n"
        f"set_load {external_load_f / cap_unit!r} [all_outputs]\n"
        f"{reader} -scope {scope} {{{Path(activity_file).resolve()}}}\n"
        "report_power -digits 9\n"
        "report_power -instances [get_cells *] -digits 9\n"
        "foreach pin [get_pins *] {\n"
        "  if {[get_property $pin direction] == \"input\"} {\n"
        "    puts \"slew [get_full_name [get_nets -of_objects $pin]] "
        "[get_property $pin slew_max_rise] [get_property $pin slew_max_fall]\"\n"
        "  }\n"
        "}\n"
        "exit\n"
    )
    (workdir / "power.tcl").write_text(script)
    done = subprocess.run([binary, "-no_init", "-no_splash", "-exit", str(workdir / "power.tcl")], cwd=workdir,
                          capture_output=True, text=True, check=False)
    (workdir / "power.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0 or "Error" in done.stdout + done.stderr:
        raise SimulationError(f"OpenSTA failed (see {workdir / 'power.log'}): {(done.stderr or done.stdout).strip()[-500:]}")
    return _parse(done.stdout, time_unit)


def pin_vcd(netlist: Netlist, source: str | Path, target: str | Path, scope: tuple[str, ...] = ("tb", "dut")) -> Path:
    """Copy a VCD of `write_timed_verilog`'s design, adding each instance's pins as aliases of their nets."""
    wires = {wire_name(netlist, n).strip(): n for n in range(len(netlist.nets))}
    cells = netlist.library.cells
    target = Path(target)
    with open(source) as vcd, open(target, "w") as out:
        codes: dict[int, str] = {}
        path: list[str] = []
        for line in vcd:
            words = line.split()
            if words[:2] == ["$scope", "module"]:
                path.append(words[2])
            elif words[:1] == ["$var"] and tuple(path) == scope and words[4] in wires:
                codes[wires[words[4]]] = words[3]
            elif words[:1] == ["$upscope"]:
                if tuple(path) == scope:
                    out.writelines(_instance_scopes(netlist, cells, codes))
                path.pop()
            out.write(line)
            if words[:1] == ["$enddefinitions"]:
                break
        for line in vcd:
            out.write(line)
    return target


def _instance_scopes(netlist: Netlist, cells, codes: dict[int, str]) -> list[str]:
    lines = []
    for inst in netlist.instances:
        cell = cells[inst.cell]
        pins = [(p, n) for p, n in zip(cell.inputs + cell.outputs, inst.inputs + inst.outputs) if n in codes]
        lines.append(f"$scope module {inst.name} $end\n")
        lines += [f"$var wire 1 {codes[net]} {pin} $end\n" for pin, net in pins]
        lines.append("$upscope $end\n")
    return lines


def _parse(text: str, time_unit: float) -> PowerReport:
    total = None
    instances: dict[str, tuple[float, float, float]] = {}
    slews: dict[str, tuple[float, float]] = {}
    for line in text.splitlines():
        if match := _TOTAL.match(line):
            total = tuple(float(v) for v in match.groups()[:3])
        elif match := _INSTANCE.match(line):
            internal, switching, leakage, _, name = match.groups()
            instances[name] = (float(internal), float(switching), float(leakage))
        elif match := _SLEW.match(line):
            name, rise, fall = match.groups()
            slews[name] = (float(rise) * time_unit, float(fall) * time_unit)
    if total is None:
        raise SimulationError("OpenSTA printed no power total")
    return PowerReport(*total, instances, slews)

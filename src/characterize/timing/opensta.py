"""OpenSTA as a reference timer: the scripts and reports of its static timing (its power reports are
`characterize.timing.opensta_power`'s, which also finds the binary).

`opensta_critical_delay` runs `report_checks -unconstrained` on a netlist with
the same input transition, output load and wire-load model gatedse uses, optionally after
`read_sdf`, and returns the path's data arrival time; `opensta_write_sdf` lets
OpenSTA write the SDF of its own delay calculation.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from cells.liberty_reader import plain_liberty
from characterize.errors import SimulationError
from characterize.netlist.ir import Netlist
from characterize.netlist.verilog import write_verilog
from characterize.timing.opensta_power import opensta_binary, wire_load_model_command
from characterize.timing.timed_verilog import module_name

_ARRIVAL = re.compile(r"^\s*(-?[0-9.]+)\s+data arrival time", re.MULTILINE)


def opensta_critical_delay(
    netlist: Netlist,
    input_slew_s: float,
    output_load_f: float,
    sdf: str | Path | None = None,
) -> float:
    """OpenSTA's unconstrained critical path delay (s) of `netlist`, from its own delay calculation or `sdf`."""
    commands = [f"read_sdf {Path(sdf).resolve()}"] if sdf is not None else []
    output = _run(netlist, input_slew_s, output_load_f, commands + ["report_checks -unconstrained -digits 6"])
    match = _ARRIVAL.search(output)
    if match is None:
        raise SimulationError(f"OpenSTA reported no path for {netlist.name}: {output.strip()[-500:]}")
    return float(match.group(1)) * _time_unit(netlist)


def opensta_write_sdf(netlist: Netlist, input_slew_s: float, output_load_f: float, path: str | Path) -> Path:
    """The SDF OpenSTA writes (`write_sdf`) for `netlist` under the given input transition and output load."""
    path = Path(path).resolve()
    _run(netlist, input_slew_s, output_load_f, [f"write_sdf -digits 6 {path}"])
    return path


def _time_unit(netlist: Netlist) -> float:
    return netlist.library.units.time


def _run(netlist: Netlist, input_slew_s: float, output_load_f: float, commands: list[str]) -> str:
    library = netlist.library
    binary = opensta_binary()
    if binary is None:
        raise SimulationError("OpenSTA is not installed (apt-get install opensta, or set GATEDSE_OPENSTA)")
    if not library.source:
        raise SimulationError(f"library {library.name} has no file OpenSTA could read")
    units = library.units
    with tempfile.TemporaryDirectory() as workdir:
        design = Path(workdir) / "design.v"
        design.write_text(write_verilog(netlist))
        script = [
            f"read_liberty {plain_liberty(Path(library.source).resolve(), workdir)}",
            f"read_verilog {design}",
            f"link_design {module_name(netlist)}",
            wire_load_model_command(library).strip(),
            f"set_input_transition {input_slew_s / units.time!r} [all_inputs]",
            f"set_load {output_load_f / units.capacitance!r} [all_outputs]",
            *commands,
            "exit",
        ]
        (Path(workdir) / "run.tcl").write_text("\n".join(script) + "\n")
        done = subprocess.run(
            [binary, "-no_init", "-no_splash", "-exit", "run.tcl"], cwd=workdir, capture_output=True, text=True,
            check=False,
        )
    if done.returncode != 0 or "Error" in done.stdout:
        raise SimulationError(f"OpenSTA failed on {netlist.name}: {(done.stdout + done.stderr).strip()[-1000:]}")
    return done.stdout

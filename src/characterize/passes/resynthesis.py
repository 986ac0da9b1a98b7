"""Resynthesis of a netlist through yosys/ABC onto the same Liberty library, and the one place yosys is run.

A second simplification strategy besides our own passes: yosys imports the
cell functions from the Liberty file, flattens the netlist into logic, and
ABC maps it back onto the library's cells.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from cells.model import Library
from characterize.errors import NetlistError
from characterize.netlist.ir import Netlist
from characterize.netlist.verilog import read_verilog, write_verilog

YOSYS_TIMEOUT_S = 600


def yosys_available() -> bool:
    return shutil.which("yosys") is not None


def resynthesize(netlist: Netlist, library: Library) -> Netlist:
    """The netlist resynthesized by yosys (synth + abc -liberty) and read back."""
    return synthesize(write_verilog(netlist), netlist.name, library)


def run_yosys(script: str, top: str, quiet: bool = True) -> subprocess.CompletedProcess:
    """Run a yosys script (its log captured; `quiet` keeps only warnings and errors); NetlistError when yosys is
    missing or runs past YOSYS_TIMEOUT_S (`top` names the design in the message)."""
    yosys = shutil.which("yosys")
    if yosys is None:
        raise NetlistError("yosys is not installed (apt-get install yosys)")
    try:
        return subprocess.run([yosys, *(["-q"] if quiet else []), "-p", script], capture_output=True, text=True,
                              timeout=YOSYS_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise NetlistError(f"yosys did not finish within {YOSYS_TIMEOUT_S} s on {top}") from None


def synthesize(verilog: str, top: str, library: Library) -> Netlist:
    """Any synthesizable Verilog text mapped by yosys (synth + abc -liberty) onto `library`'s cells and read back."""
    if not yosys_available():
        raise NetlistError("yosys is not installed (apt-get install yosys); use the 'simplify' strategy instead")
    liberty = Path(library.source)
    if not liberty.is_file():
        raise NetlistError(f"resynthesis needs the library as a file; {library.name} was not read from one")
    with tempfile.TemporaryDirectory(prefix="gatedse-yosys-") as folder:
        source = Path(folder) / "in.v"
        result = Path(folder) / "out.v"
        source.write_text(verilog)
        script = (
            f"read_liberty -ignore_miss_func {liberty}; read_verilog {source}; hierarchy -top {top}; "
            f"flatten; synth -flatten -top {top}; abc -liberty {liberty}; opt_clean -purge; "
            f"write_verilog -noattr {result}"
        )
        run = run_yosys(script, top)
        if run.returncode != 0:
            message = (run.stderr or run.stdout).strip().splitlines()
            raise NetlistError(f"yosys failed on {top}: {message[-1] if message else 'no message'}")
        return read_verilog(result.read_text(), library, top=top, source=f"yosys output for {top}")

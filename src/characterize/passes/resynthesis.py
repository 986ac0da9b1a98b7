"""Resynthesis of a netlist through yosys/ABC onto the same Liberty library, and the one place yosys is run.

A second simplification strategy besides our own passes: yosys imports the
cell functions from the Liberty file, flattens the netlist into logic, and
ABC maps it back onto the library's cells, those that no dont-use pattern
excludes (ABC is handed a copy of the Liberty file without the excluded cells,
and yosys and ABC a plain copy of a gzipped library, which they cannot read).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from cells.liberty_reader import liberty_text, plain_liberty
from cells.model import Library
from characterize.errors import NetlistError
from characterize.netlist.ir import Netlist
from characterize.netlist.techmap import CellMatcher
from characterize.netlist.verilog import read_verilog, write_verilog

YOSYS_TIMEOUT_S = 600


def yosys_available() -> bool:
    return shutil.which("yosys") is not None


def resynthesize(netlist: Netlist, library: Library, matcher: CellMatcher | None = None) -> Netlist:
    """The netlist resynthesized by yosys (synth + abc -liberty) onto the cells `matcher` allows, and read back."""
    return synthesize(write_verilog(netlist), netlist.name, library, matcher)


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


def synthesize(verilog: str, top: str, library: Library, matcher: CellMatcher | None = None) -> Netlist:
    """Any synthesizable Verilog text mapped by yosys (synth + abc -liberty) onto `library`'s cells that `matcher`
    allows (default: all but the default dont-use patterns) and read back."""
    if not yosys_available():
        raise NetlistError("yosys is not installed (apt-get install yosys); use the 'simplify' strategy instead")
    liberty = Path(library.source)
    if not liberty.is_file():
        raise NetlistError(f"resynthesis needs the library as a file; {library.name} was not read from one")
    with tempfile.TemporaryDirectory(prefix="gatedse-yosys-") as folder:
        source = Path(folder) / "in.v"
        result = Path(folder) / "out.v"
        source.write_text(verilog)
        models, mapping = _liberty_files(library, liberty, matcher or CellMatcher(library), Path(folder))
        script = (
            f"read_liberty -ignore_miss_func {models}; read_verilog {source}; hierarchy -top {top}; "
            f"flatten; synth -flatten -top {top}; abc -liberty {mapping}; opt_clean -purge; "
            f"write_verilog -noattr {result}"
        )
        run = run_yosys(script, top)
        if run.returncode != 0:
            message = (run.stderr or run.stdout).strip().splitlines()
            raise NetlistError(f"yosys failed on {top}: {message[-1] if message else 'no message'}")
        return read_verilog(result.read_text(), library, top=top, source=f"yosys output for {top}")


def _liberty_files(library: Library, liberty: Path, matcher: CellMatcher, folder: Path) -> tuple[Path, Path]:
    """The Liberty files yosys reads the cell models from (every cell) and ABC maps onto (the cells no dont-use
    pattern excludes): plain files, `liberty` itself where it serves, else copies in `folder`."""
    models = plain_liberty(liberty, folder)
    excluded = {name for name in library.cells if matcher.excluded(name)}
    if not excluded:
        return models, models
    mapping = folder / "mapping.lib"
    mapping.write_text(_without_cells(liberty_text(models), excluded))
    return models, mapping


_CELL_OR_BRACE = re.compile(r'/\*.*?\*/|"[^"]*"|\bcell\s*\(\s*"?([^"\s)]+)"?\s*\)\s*\{|[{}]', re.DOTALL)


def _without_cells(text: str, names: set[str]) -> str:
    """Liberty `text` with the `cell` groups of `names` cut out (braces in comments and strings ignored)."""
    pieces, kept_from, depth, cut_at = [], 0, 0, None
    for match in _CELL_OR_BRACE.finditer(text):
        token = match.group(0)
        if match.group(1) is not None:
            if cut_at is None and match.group(1) in names:
                cut_at, cut_depth = match.start(), depth
            depth += 1
        elif token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if cut_at is not None and depth == cut_depth:
                pieces.append(text[kept_from:cut_at])
                kept_from, cut_at = match.end(), None
    pieces.append(text[kept_from:])
    return "".join(pieces)

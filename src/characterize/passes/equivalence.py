"""Formal proof with yosys that a weight-embedded netlist equals its reference with the weight tied.

Both netlists are written as structural Verilog, the reference with its weight
port tied to the constant and nothing simplified (`tie_constant`), with
behavioural models of the cells they use (`cells.verilog_models`, from the
Liberty functions). yosys first tries its equivalence flow (`equiv_make`,
`equiv_simple`, `equiv_induct`, `equiv_status -assert`), which proves each
output on its own cone and is fast when the netlists share structure. What it
leaves unproven goes to a SAT proof on a miter of the two
(`miter -equiv`, `sat -prove trigger 0`), which either proves equivalence or
gives a counterexample: the input values on which the outputs differ.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from cells.verilog_models import format_cell_models
from characterize.errors import NetlistError
from characterize.netlist.ir import Netlist
from characterize.netlist.verilog import write_verilog
from characterize.passes.embed import tie_constant
from characterize.passes.resynthesis import run_yosys

GOLD, GATE = "gatedse_gold", "gatedse_gate"
_SHOWN_INPUT = re.compile(r"^\s*\\in_(\S+)\s+(\d+)\s", re.MULTILINE)


def prove_embedding(reference: Netlist, embedded: Netlist, weight_port: str, weight: int) -> None:
    """Raise NetlistError (with yosys's counterexample) unless `embedded` equals `reference` with
    `weight_port` = `weight` on every input; needs yosys (`resynthesis.yosys_available`)."""
    gold = _renamed(tie_constant(reference, weight_port, weight), GOLD)
    gate = _renamed(embedded, GATE)
    cells = sorted({inst.cell for inst in gold.instances + gate.instances})
    with tempfile.TemporaryDirectory(prefix="gatedse-equiv-") as folder:
        files = []
        for name, text in (("cells.v", format_cell_models(reference.library, cells)), ("gold.v", write_verilog(gold)),
                           ("gate.v", write_verilog(gate))):
            path = Path(folder) / name
            path.write_text(text)
            files.append(f"read_verilog {path}")
        read = "; ".join(files)
        equiv = run_yosys(f"{read}; hierarchy; flatten; equiv_make {GOLD} {GATE} equiv; hierarchy -top equiv; "
                          "equiv_simple; equiv_induct; equiv_status -assert", embedded.name)
        if equiv.returncode == 0:
            return
        sat = run_yosys(f"{read}; miter -equiv -flatten -make_outputs {GOLD} {GATE} miter; hierarchy -top miter; "
                        "sat -prove trigger 0 -show-inputs miter", embedded.name, quiet=False)
    where = f"{embedded.name} against {reference.name} with {weight_port} = {weight}"
    if "SAT proof finished - no model found: SUCCESS" in sat.stdout:
        return
    if "SAT proof finished - model found: FAIL" in sat.stdout:
        shown = ", ".join(f"{port} = {value}" for port, value in _SHOWN_INPUT.findall(sat.stdout))
        raise NetlistError(f"{where}: the outputs differ (yosys SAT counterexample, unsigned inputs: {shown})")
    lines = (sat.stderr or sat.stdout).strip().splitlines()
    raise NetlistError(f"{where}: yosys could not decide equivalence: {lines[-1] if lines else 'no message'}")


def _renamed(netlist: Netlist, name: str) -> Netlist:
    return Netlist(name, netlist.library, netlist.nets, netlist.ports, netlist.instances, netlist.vectors,
                   netlist.source, netlist.physical_cells)

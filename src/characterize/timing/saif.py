"""Switching activity as SAIF 2.0 (Switching Activity Interchange Format) for other power tools.

Per net the file gives T0 and T1 (time at 0 and at 1), TX (always 0: every net is
known from the first vector on) and TC (toggles, glitches included), over the
timeline of `vcd.write_vcd`: vector i applied at i × period, vector 0 settled from
the start. The top instance is named after the netlist's module; inside it, every
cell instance repeats the activity of its pins' nets, which is how OpenSTA's
`read_saif -scope MODULE` finds the pins it prices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from cells.files import write_text
from characterize.netlist.ir import CONST_NAMES
from characterize.timing.delays import TimedGates, timescale_unit
from characterize.timing.sim import timeline
from characterize.timing.timed_verilog import module_name

_PLAIN = re.compile(r"[A-Za-z0-9_$\[\]]")


def write_saif(
    timed: TimedGates, inputs: Mapping[str, Iterable[int]], path: str | Path, period_steps: int | None = None
) -> Path:
    """Write the SAIF of the transitions of `inputs`; `period_steps` as in `vcd.write_vcd`."""
    activity = timeline(timed, inputs, period_steps)
    netlist = timed.netlist
    factor, unit = re.fullmatch(r"(\d+)(\w+)", timescale_unit(timed.resolution_s)).groups()

    def entry(net: int, name: str) -> str:
        high = int(activity.high_steps[net])
        low = activity.duration_steps - high
        return f"      ({saif_name(name)} (T0 {low}) (T1 {high}) (TX 0) (TC {int(activity.toggles[net])}))\n"

    top = module_name(netlist)
    lines = [
        "(SAIFILE\n",
        '(SAIFVERSION "2.0")\n',
        '(DIRECTION "backward")\n',
        f'(DESIGN "{top}")\n',
        f'(DATE "{datetime.now(timezone.utc).strftime("%a %b %d %H:%M:%S %Y")}")\n',
        '(VENDOR "gatedse")\n',
        '(PROGRAM_NAME "gatedse timing simulator")\n',
        '(VERSION "1")\n',
        "(DIVIDER / )\n",
        f"(TIMESCALE {factor} {unit})\n",
        f"(DURATION {activity.duration_steps})\n",
        f"(INSTANCE {saif_name(top)}\n",
        "  (NET\n",
        *(entry(n, netlist.nets[n].lstrip("\\").strip()) for n in range(len(CONST_NAMES), len(netlist.nets))),
        "  )\n",
    ]
    cells = netlist.library.cells
    for inst in netlist.instances:
        cell = cells[inst.cell]
        pins = [(p, n) for p, n in zip(cell.inputs + cell.outputs, inst.inputs + inst.outputs) if n >= len(CONST_NAMES)]
        lines += [f"  (INSTANCE {saif_name(inst.name)}\n", "    (NET\n"]
        lines += [entry(net, pin) for pin, net in pins]
        lines += ["    )\n", "  )\n"]
    lines.append(")\n)\n")
    return write_text(path, "".join(lines))


def saif_name(name: str) -> str:
    """A name as a SAIF identifier: characters other than letters, digits, _ $ [ ] escaped with a backslash."""
    return "".join(c if _PLAIN.match(c) else "\\" + c for c in name)

"""`dse simulate`: timing simulation of a netlist over user vectors, with toggle counts, VCD and timed Verilog."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from characterize.csvfile import read_csv
from characterize.errors import SimulationError
from characterize.netlist.logic import WIDE_BITS


def register(commands) -> None:
    from dse.cli import add_library_option

    parser = commands.add_parser(
        "simulate",
        help="event-driven timing simulation of a gate netlist",
        description="Apply the vectors of a CSV one after another to a structural Verilog netlist and count every "
        "net's toggles (glitches included) with library delays and inertial-delay semantics.",
    )
    parser.add_argument("netlist", type=Path, metavar="NETLIST.v")
    parser.add_argument("--inputs", type=Path, required=True, metavar="VECTORS.csv",
                        help="header naming the input ports, one row of integers per vector")
    add_library_option(parser)
    parser.add_argument("--period-ps", type=float,
                        help="clock period: spacing of vectors in the VCD, and for average power; with --clock, the period")
    parser.add_argument("--clock", metavar="PORT",
                        help="simulate flip-flops clocked by this input port: row i at i*P, clock rising at i*P + P/2")
    parser.add_argument("--json", type=Path, metavar="OUT.json",
                        help="with --clock: min_period_ps, setup and hold slack, the critical path, energy per cycle")
    parser.add_argument("--toggles", type=Path, required=True, metavar="OUT.csv", help="net,toggles,glitches per net")
    parser.add_argument("--vcd", type=Path, metavar="OUT.vcd", help="write a VCD of the simulated transitions")
    parser.add_argument("--vcd-transitions", type=int, default=1000, metavar="N",
                        help="how many transitions (from the first) the VCD holds (default 1000)")
    parser.add_argument("--timed-verilog", type=Path, metavar="OUT.v",
                        help="write the simulated netlist as continuous assignments with #(rise, fall) delays")
    parser.set_defaults(run=run)


def read_vectors(path: Path, ports) -> dict[str, np.ndarray]:
    """Integer columns per input port from a CSV whose header names exactly the given input ports.

    An escaped port name may be written without its backslash (`B[0]` for `\\B[0]`), as the
    toggles file writes it. Values are decimal (signed or unsigned) or hex (`0x...`) of any
    width; a port wider than 62 bits gets an object array of Python ints.
    """
    frame = read_csv(path, SimulationError, "vectors file", dtype=str)
    by_name = {p.name.lstrip("\\"): p for p in ports}
    header = [c.strip() for c in frame.columns]
    if sorted(h.lstrip("\\") for h in header) != sorted(by_name):
        names = ", ".join(p.name.lstrip("\\") for p in ports)
        raise SimulationError(f"{path}:1: header must name the input ports {names}; got {', '.join(header)}")
    columns = {}
    for name, column in zip(header, frame.columns):
        port = by_name[name.lstrip("\\")]
        low, high = -(1 << (port.width - 1)), (1 << port.width) - 1
        values = []
        for row, text in enumerate(frame[column], start=2):
            text = str(text).strip()
            try:
                value = int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(text)
            except ValueError:
                raise SimulationError(f"{path}:{row}: column {name}: {text!r} is not an integer") from None
            if not low <= value <= high:
                raise SimulationError(f"{path}:{row}: column {name}: {text} does not fit the {port.width}-bit port")
            values.append(value)
        columns[port.name] = np.array(values, dtype=object if port.width > WIDE_BITS else np.int64)
    if len(frame) < 2:
        raise SimulationError(f"{path}: at least two vectors (one transition) are needed, got {len(frame)}")
    return columns


def run(args: argparse.Namespace) -> int:
    from cells.default import load_library
    from characterize.netlist.verilog import read_verilog
    from characterize.timing.delays import annotate_delays
    from characterize.timing.power import average_power, leakage_energy, net_transition_energy
    from characterize.timing.sim import simulate, write_vcd
    from characterize.timing.sta import static_timing
    from characterize.timing.timed_verilog import write_timed_verilog
    from dse.cli_netlist import describe, physical_note

    library = load_library(args.library)
    netlist = read_verilog(args.netlist, library)
    print(f"{netlist.name}: {describe(netlist)}")
    if physical_note(netlist):
        print(physical_note(netlist))
    if args.json and not args.clock:
        raise SimulationError("--json reports the clocked timing; it needs --clock")
    if args.clock or any(library.cells[i.cell].sequential for i in netlist.instances):
        from dse.cli_clocked import simulate_clocked_netlist

        return simulate_clocked_netlist(args, netlist)
    inputs = read_vectors(args.inputs, netlist.inputs)
    timed = annotate_delays(netlist)
    energy = net_transition_energy(netlist, timed.input_slew_s, timed.external_load_f)
    result = simulate(timed, inputs, net_weights=energy)
    nets = range(2, len(netlist.nets))
    pd.DataFrame(
        {"net": [netlist.nets[n].lstrip("\\") for n in nets],
         "toggles": result.toggles[2:], "glitches": result.glitches[2:]}
    ).to_csv(args.toggles, index=False)
    delays_ps = result.sensitized_delay_s * 1e12
    critical_ps = static_timing(timed).critical_delay_s * 1e12
    energy_fj = result.weighted_toggles.mean() * 1e15
    print(f"{result.transitions} transitions, "
          f"{int(result.toggles.sum())} toggles ({int(result.glitches.sum())} glitches), {result.events} events")
    print(f"sensitized delay: max {delays_ps.max():.0f} ps, mean {delays_ps.mean():.0f} ps; critical (STA) {critical_ps:.0f} ps")
    print(f"switching energy: {energy_fj:.2f} fJ per transition")
    period_steps = None
    if args.period_ps:
        period_s = args.period_ps * 1e-12
        power_uw = average_power(result.weighted_toggles.mean() + leakage_energy(netlist, period_s), period_s) * 1e6
        print(f"average power at {args.period_ps:g} ps: {power_uw:.3f} uW (leakage {netlist.leakage * 1e9:.3f} nW)")
        period_steps = int(round(period_s / timed.resolution_s))
        late = int((result.settle_steps > period_steps).sum())
        if late:
            print(f"warning: {late} transitions settle later than the period")
        if period_steps <= timed.settle_bound_steps:
            print(f"note: the VCD spaces vectors by the settling bound ({timed.settle_bound_steps} ps), not the period")
            period_steps = None
    print(f"wrote {args.toggles}")
    if args.vcd:
        count = min(args.vcd_transitions, result.transitions)
        write_vcd(timed, inputs, args.vcd, transitions=range(count), period_steps=period_steps)
        print(f"wrote {args.vcd} ({count} transitions)")
    if args.timed_verilog:
        args.timed_verilog.write_text(write_timed_verilog(timed))
        print(f"wrote {args.timed_verilog}")
    return 0

"""`dse simulate`: timing simulation of a netlist over user vectors, with toggle counts, VCD and timed Verilog."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from characterize.errors import SimulationError

if TYPE_CHECKING:
    import numpy as np


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
    parser.add_argument("--period-ps", type=float, help="clock period: spacing of vectors in the VCD, and for average power")
    parser.add_argument("--toggles", type=Path, required=True, metavar="OUT.csv", help="net,toggles,glitches per net")
    parser.add_argument("--vcd", type=Path, metavar="OUT.vcd", help="write a VCD of the simulated transitions")
    parser.add_argument("--jobs", type=int, metavar="J",
                        help="threads that simulate chunks of the transitions (default: every usable core)")
    parser.add_argument("--vcd-transitions", type=int, default=1000, metavar="N",
                        help="how many transitions (from the first) the VCD holds (default 1000)")
    parser.add_argument("--timed-verilog", type=Path, metavar="OUT.v",
                        help="write the simulated netlist as continuous assignments with #(rise, fall) delays")
    parser.set_defaults(run=run)


def read_vectors(path: Path, ports: list[str]) -> dict[str, np.ndarray]:
    """Integer columns per input port from a CSV whose header names exactly the input ports.

    pandas' C reader parses the columns in one pass; only a column it does not
    read as 64-bit integers is walked row by row (to name the first bad cell).
    """
    from characterize.csvfile import read_csv

    frame = read_csv(path, SimulationError, "vectors file", skipinitialspace=True)
    header = [str(c).strip() for c in frame.columns]
    if sorted(header) != sorted(ports):
        raise SimulationError(f"{path}:1: header must name the input ports {', '.join(ports)}; got {', '.join(header)}")
    columns = {}
    for name, column in zip(header, frame.columns):
        values = frame[column]
        columns[name] = values.to_numpy() if values.dtype == "int64" else _integers_row_by_row(path, name, values)
    if len(frame) < 2:
        raise SimulationError(f"{path}: at least two vectors (one transition) are needed, got {len(frame)}")
    return columns


def _integers_row_by_row(path: Path, name: str, values) -> np.ndarray:
    import numpy as np

    numbers = []
    for row, value in enumerate(values, start=2):
        text = str(value).strip()
        try:
            numbers.append(int(text))
        except ValueError:
            raise SimulationError(f"{path}:{row}: column {name}: {text!r} is not an integer") from None
    try:
        return np.array(numbers, dtype=np.int64)
    except OverflowError:
        raise SimulationError(f"{path}: column {name}: a value does not fit in 64 bits") from None


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from cells.default import load_library
    from characterize.netlist.verilog import read_verilog
    from characterize.timing.delays import annotate_delays
    from characterize.timing.power import average_power, leakage_energy, net_transition_energy
    from characterize.timing.parallel import simulate_parallel
    from characterize.timing.sim import write_vcd
    from characterize.timing.sta import static_timing
    from characterize.timing.timed_verilog import write_timed_verilog

    library = load_library(args.library)
    netlist = read_verilog(args.netlist, library)
    inputs = read_vectors(args.inputs, [p.name for p in netlist.inputs])
    timed = annotate_delays(netlist)
    energy = net_transition_energy(netlist, timed.input_slew_s, timed.external_load_f)
    if args.jobs is not None and args.jobs < 1:
        raise SimulationError(f"--jobs must be at least 1, got {args.jobs}")
    result = simulate_parallel(timed, inputs, args.jobs, net_weights=energy)
    nets = range(2, len(netlist.nets))
    pd.DataFrame(
        {"net": [netlist.nets[n].lstrip("\\") for n in nets],
         "toggles": result.toggles[2:], "glitches": result.glitches[2:]}
    ).to_csv(args.toggles, index=False)
    delays_ps = result.sensitized_delay_s * 1e12
    critical_ps = static_timing(timed).critical_delay_s * 1e12
    energy_fj = result.weighted_toggles.mean() * 1e15
    print(f"{netlist.name}: {len(netlist.instances)} cells, {result.transitions} transitions, "
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

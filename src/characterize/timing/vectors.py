"""Timing simulation of a netlist file over user vectors: what `dse simulate` computes, as one call.

The vectors file is a CSV whose header names exactly the netlist's input
ports, one row of integers per vector; consecutive rows are the transitions.
Besides the simulator's activity the result holds the figures a user checks a
netlist with: sensitized and critical (STA) delay, switching energy and, at a
clock period, average power and the transitions that settle too late.

The SDF reader and the VCD, SAIF and timed-Verilog writers are imported by the
functions that use them: most runs need none of them, and importing them takes
longer than the delay calculation of a small netlist read from its cache.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from cells.default import load_library
from cells.files import atomic_path, write_text
from characterize.csvfile import read_csv
from characterize.errors import SimulationError
from characterize.integer_csv import read_integer_csv
from characterize.netlist.ir import Netlist, Port, port_range
from characterize.netlist.logic import WIDE_BITS
from characterize.netlist.verilog import read_verilog
from characterize.timing.delay_cache import cached_delays
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, TimedGates, annotate_arc_delays, default_external_load
from characterize.timing.power import EnergyRun, average_power, simulate_energy
from characterize.timing.sim import SimResult, out_of_range
from characterize.timing.sta import static_timing


@dataclass(frozen=True, eq=False)
class VectorSimulation:
    """One netlist simulated over a vectors file.

    `energy_per_transition_j` is the mean dynamic energy (switching and internal),
    `energy` the whole energy run (model per pin, leakage by state); with a clock
    period `average_power_w` adds leakage over that period, `late_transitions` counts
    transitions settling after it, and `vcd_period_steps` is the period in
    simulator steps when it is long enough to space the vectors of a VCD (else None).
    """

    timed: TimedGates
    inputs: dict[str, np.ndarray]
    result: SimResult
    critical_delay_s: float
    energy_per_transition_j: float
    energy: EnergyRun
    period_s: float | None = None
    average_power_w: float | None = None
    late_transitions: int = 0
    vcd_period_steps: int | None = None


def read_vectors(path: str | Path, ports: list[Port] | tuple[Port, ...]) -> dict[str, np.ndarray]:
    """Integer columns per input port from a CSV whose header names exactly the given input ports.

    An escaped port name may be written without its backslash (`B[0]` for `\\B[0]`), as the
    toggles file writes it. Values are decimal (signed or unsigned) or hex (`0x...`) of any
    width; a port wider than 62 bits gets an object array of Python ints. A file of plain
    decimal integers that fit their ports is read by a compiled loop (`integer_csv`); any
    other by pandas as text (so that a message quotes a cell as written, not as a float),
    where a column of decimal 64-bit integers that fit the port is converted at once and any
    other is checked row by row (hex, wide values, and the first bad cell's message).
    """
    fast = _read_plain_vectors(path, ports)
    if fast is not None:
        return fast
    frame = read_csv(path, SimulationError, "vectors file", skipinitialspace=True, dtype=str, keep_default_na=False)
    by_name = {p.name.lstrip("\\"): p for p in ports}
    header = [str(c).strip() for c in frame.columns]
    if sorted(h.lstrip("\\") for h in header) != sorted(by_name):
        names = ", ".join(p.name.lstrip("\\") for p in ports)
        raise SimulationError(f"{path}:1: header must name the input ports {names}; got {', '.join(header)}")
    columns = {}
    for name, column in zip(header, frame.columns):
        port = by_name[name.lstrip("\\")]
        low, high = port_range(port)
        parsed = _decimal_column(frame[column]) if port.width <= WIDE_BITS else None
        if parsed is not None and (len(parsed) == 0 or (low <= parsed.min() and parsed.max() <= high)):
            columns[port.name] = parsed
            continue
        values = []
        for row, text in enumerate(frame[column], start=2):
            text = str(text).strip()
            try:
                value = int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(text)
            except ValueError:
                raise SimulationError(f"{path}:{row}: column {name}: {text!r} is not an integer") from None
            if not low <= value <= high:
                raise SimulationError(out_of_range(f"{path}:{row}", port, value))
            values.append(value)
        columns[port.name] = np.array(values, dtype=object if port.width > WIDE_BITS else np.int64)
    if len(frame) < 2:
        raise SimulationError(f"{path}: at least two vectors (one transition) are needed, got {len(frame)}")
    return columns


def _decimal_column(texts) -> np.ndarray | None:
    """A column of text cells as 64-bit integers when every cell is a decimal integer that fits; else None."""
    try:
        return texts.to_numpy().astype(np.int64)
    except (ValueError, OverflowError):
        return None


def _read_plain_vectors(path: str | Path, ports: list[Port] | tuple[Port, ...]) -> dict[str, np.ndarray] | None:
    """The columns of a vectors file of decimal integers that fit their ports, or None for any other file."""
    read = read_integer_csv(path)
    by_name = {p.name.lstrip("\\"): p for p in ports}
    if read is None or sorted(h.lstrip("\\") for h in read[0]) != sorted(by_name) or len(read[1]) < 2:
        return None
    header, values = read
    columns = {}
    for name, column in zip(header, values.T):
        port = by_name[name.lstrip("\\")]
        low, high = port_range(port)
        if port.width > WIDE_BITS or column.min() < low or column.max() > high:
            return None
        columns[port.name] = np.ascontiguousarray(column)
    return columns


def simulate_vectors(netlist: Netlist | str | Path, vectors_path: str | Path, library_path: str | Path | None = None,
                     period_s: float | None = None, sdf_path: str | Path | None = None,
                     threads: int | None = 1) -> VectorSimulation:
    """Simulate the vectors through a netlist, or a netlist file read over the Liberty file (default the embedded one).

    Each gate has per-arc delays from the NLDM delay calculation at the default
    input slew and output load (kept in the user cache folder, `delay_cache`),
    or from the SDF at `sdf_path`. `threads` > 1 runs chunks of the transitions on
    that many threads (None: as many as pay off), with the same results.
    """
    if not isinstance(netlist, Netlist):
        netlist = read_verilog(netlist, load_library(library_path))
    inputs = read_vectors(vectors_path, netlist.inputs)
    slew_s, load_f = DEFAULT_INPUT_SLEW_S, default_external_load(netlist.library)
    if sdf_path:
        from characterize.timing.sdf import read_sdf

        calc = read_sdf(sdf_path, netlist, slew_s, load_f)
    else:
        calc = cached_delays(netlist, slew_s, load_f)
    timed = annotate_arc_delays(calc)
    energy = simulate_energy(timed, inputs, threads=threads)
    result = energy.result
    dynamic_j = float(energy.dynamic_j.mean())
    simulation = VectorSimulation(timed, inputs, result, static_timing(timed).critical_delay_s, dynamic_j, energy)
    if not period_s:
        return simulation
    period_steps = int(round(period_s / timed.resolution_s))
    return replace(
        simulation,
        period_s=period_s,
        average_power_w=average_power(energy.energy_per_op_j(period_s), period_s),
        late_transitions=int((result.settle_steps > period_steps).sum()),
        vcd_period_steps=period_steps if period_steps > timed.settle_bound_steps else None,
    )


def write_toggles(simulation: VectorSimulation, path: str | Path) -> Path:
    """net, toggles, glitches per net (the two constant nets left out) as CSV."""
    netlist, result = simulation.timed.netlist, simulation.result
    rows = zip((name.lstrip("\\") for name in netlist.nets[2:]), result.toggles[2:].tolist(),
               result.glitches[2:].tolist())
    with atomic_path(path) as partial, partial.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("net", "toggles", "glitches"))
        writer.writerows(rows)
    return Path(path)


def write_waveform(simulation: VectorSimulation, path: str | Path, transitions: int) -> int:
    """A VCD of the first `transitions` transitions (at most all), vectors spaced by the clock period when it is
    longer than the settling bound; returns how many transitions it holds."""
    from characterize.timing.vcd import write_vcd

    count = min(transitions, simulation.result.transitions)
    write_vcd(simulation.timed, simulation.inputs, path, transitions=range(count),
              period_steps=simulation.vcd_period_steps)
    return count


def write_activity(simulation: VectorSimulation, path: str | Path) -> Path:
    """The switching activity of every net as SAIF (`characterize.timing.saif`), on the timeline of `write_waveform`."""
    from characterize.timing.saif import write_saif

    return write_saif(simulation.timed, simulation.inputs, path, period_steps=simulation.vcd_period_steps)


def write_timed_netlist(simulation: VectorSimulation, path: str | Path) -> Path:
    """The simulated netlist as Verilog that Icarus Verilog replays (`iverilog -gspecify`: path-delay modules)."""
    from characterize.timing.timed_verilog import write_timed_verilog

    return write_text(path, write_timed_verilog(simulation.timed))

"""Drive-strength choice: larger sizes of a function where they shorten the critical path.

Generators and the simplifier map every function to its smallest cell (sizing
for area). Sizing for delay then upsizes greedily on the critical path, as a
timing-driven resizer does: for each instance on the path (inputs first), every
larger or equal-area cell of the same function that no dont-use pattern
excludes is tried, and the one giving the shortest critical delay is kept if it
beats the present one; the path is traced again and the pass repeats until a
pass changes nothing (or `MAX_PASSES`). Each trial times the whole netlist with
the NLDM delay calculation and `critical_path`, so a larger cell's heavier
input load on its driver counts against it. The critical delay never gets
longer than the area-sized one, and the function never changes: every
candidate computes the same truth tables on the same nets.
"""

from __future__ import annotations

from characterize.choices import SIZE_FOR
from characterize.errors import NetlistError
from characterize.netlist.ir import UNCONNECTED, Instance, Netlist
from characterize.netlist.techmap import CellMatcher, Match
from characterize.timing.delaycalc import calculate_delays
from characterize.timing.sta import critical_path

MAX_PASSES = 16
MIN_GAIN_S = 1e-15  # an upsize must shorten the critical delay by more than 1 fs to count


def size_cells(netlist: Netlist, matcher: CellMatcher, size_for: str, input_slew_s: float,
               output_load_f: float) -> Netlist:
    """`netlist` as mapped (`area`), or upsized on its critical path (`delay`) at this input slew and output load."""
    if size_for not in SIZE_FOR:
        raise NetlistError(f"size_for must be one of {', '.join(SIZE_FOR)}, got {size_for!r}")
    if size_for == "area":
        return netlist
    if netlist.register_count:
        raise NetlistError(f"{netlist.name}: sizing for delay times combinational netlists only; this one has "
                           f"{netlist.registers} (the processing element gets its MAC sized)")
    return _Resizer(netlist, matcher, input_slew_s, output_load_f).run()


def upsized_cells(netlist: Netlist, matcher: CellMatcher) -> int:
    """Instances whose cell is larger than the smallest usable cell of its function (what sizing for delay added)."""
    count = 0
    for inst in netlist.instances:
        sizes = matcher.sizes(inst.cell)
        if sizes and (sizes[0].area, sizes[0].cell) < (netlist.library.cells[inst.cell].area, inst.cell):
            count += 1
    return count


class _Resizer:
    """The greedy critical-path upsizing of `size_cells`, over one netlist."""

    def __init__(self, netlist: Netlist, matcher: CellMatcher, input_slew_s: float, output_load_f: float):
        self.netlist = netlist
        self.input_slew_s = input_slew_s
        self.output_load_f = output_load_f
        self.index = {inst.name: k for k, inst in enumerate(netlist.instances)}
        area = {k: netlist.library.cells[inst.cell].area for k, inst in enumerate(netlist.instances)}
        self.candidates = {
            k: [m for m in matcher.sizes(inst.cell) if m.cell != inst.cell and m.area >= area[k]]
            for k, inst in enumerate(netlist.instances)
        }
        self.instances = list(netlist.instances)
        self.drivers: dict = {}

    def run(self) -> Netlist:
        best = self.netlist
        delay, path = self._timed(best)
        for _ in range(MAX_PASSES):
            changed = False
            for k in self._on_path(path):
                original = self.netlist.instances[k]
                kept = self.instances[k]
                for match in self.candidates[k]:
                    if match.cell == kept.cell:
                        continue
                    self.instances[k] = _resized(original, match, self.netlist)
                    trial = self._netlist()
                    trial_delay, trial_path = self._timed(trial)
                    if trial_delay < delay - MIN_GAIN_S:
                        best, delay, path, kept, changed = trial, trial_delay, trial_path, self.instances[k], True
                self.instances[k] = kept
            if not changed:
                break
        return best

    def _on_path(self, path) -> list[int]:
        """Instances along the critical path, inputs first, each once."""
        seen: dict[int, None] = {}
        for stage in path:
            if stage.instance is not None:
                seen.setdefault(self.index[stage.instance])
        return list(seen)

    def _netlist(self) -> Netlist:
        source = self.netlist
        return Netlist(source.name, source.library, source.nets, source.ports, self.instances, source.vectors,
                       source.source, source.physical_cells)

    def _timed(self, netlist: Netlist):
        report = critical_path(calculate_delays(netlist, self.input_slew_s, self.output_load_f, self.drivers))
        return report.critical_delay_s, report.path


def _resized(original: Instance, match: Match, netlist: Netlist) -> Instance:
    """`original` as an instance of `match.cell`, whose inputs and outputs `match` gives in `original`'s pin order."""
    cell = netlist.library.cells[match.cell]
    outputs = [UNCONNECTED] * len(cell.outputs)
    for logical, pin in enumerate(match.outputs):
        outputs[pin] = original.outputs[logical]
    inputs = tuple(original.inputs[source] for source in match.sources)
    return Instance(original.name, match.cell, inputs, tuple(outputs), original.line)

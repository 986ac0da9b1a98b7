"""The gate-level netlist IR: nets, ports and cell instances over one library.

Nets are integers. Net 0 is the constant 0 and net 1 the constant 1 (written
1'b0 and 1'b1 in Verilog); every other net has a name that Verilog can print:
a plain identifier, a bit of a declared vector (`y[3]`), or an escaped
identifier kept with its leading backslash. A Netlist is validated when it is
built and never changes afterwards; passes return new netlists.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from cells.model import Library
from characterize.errors import NetlistError

CONST0 = 0
CONST1 = 1
UNCONNECTED = -1
CONST_NAMES = ("1'b0", "1'b1")


@dataclass(frozen=True)
class Instance:
    """A cell instance: one net per cell input pin and per output pin, in the cell's pin order."""

    name: str
    cell: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Port:
    """A module port. `nets[i]` is bit i counted from the least significant end.

    `msb`/`lsb` keep the declared range for writing; both are None for a scalar port.
    """

    name: str
    direction: str
    nets: tuple[int, ...]
    msb: int | None = None
    lsb: int | None = None

    @property
    def width(self) -> int:
        return len(self.nets)


def port_range(port: Port) -> tuple[int, int]:
    """The integers a port of w bits holds without wrapping: -2^(w-1) (two's complement) to 2^w - 1 (unsigned).

    A netlist does not say whether a port is signed, so both readings are accepted.
    """
    return -(1 << (port.width - 1)), (1 << port.width) - 1


class Netlist:
    """A validated, topologically ordered gate-level netlist."""

    def __init__(
        self,
        name: str,
        library: Library,
        nets: list[str] | tuple[str, ...],
        ports: list[Port] | tuple[Port, ...],
        instances: list[Instance] | tuple[Instance, ...],
        vectors: dict[str, tuple[int, int]] | None = None,
        source: str = "",
        physical_cells: dict[str, int] | None = None,
    ):
        self.name = name
        self.library = library
        self.nets = tuple(nets)
        self.ports = tuple(ports)
        self.instances = tuple(instances)
        self.vectors = dict(vectors or {})
        self.source = source
        self.physical_cells = dict(physical_cells or {})  # physical-only cells left out when read: name -> count
        if self.nets[:2] != CONST_NAMES:
            raise NetlistError(f"{self._where()}nets 0 and 1 must be the constants {CONST_NAMES}")
        self._check_cells()
        self.driver = self._drivers()
        self.order = self._topological_order()

    # ----------------------------------------------------------------- queries
    @property
    def inputs(self) -> tuple[Port, ...]:
        return tuple(p for p in self.ports if p.direction == "input")

    @property
    def outputs(self) -> tuple[Port, ...]:
        return tuple(p for p in self.ports if p.direction == "output")

    def port(self, name: str) -> Port:
        for p in self.ports:
            if p.name == name:
                return p
        raise NetlistError(f"{self._where()}netlist {self.name} has no port {name!r}")

    @cached_property
    def area(self) -> float:
        """Total cell area in µm²."""
        return float(sum(self.library.cells[i.cell].area for i in self.instances))

    @cached_property
    def cell_counts(self) -> Counter:
        return Counter(i.cell for i in self.instances)

    @cached_property
    def register_count(self) -> int:
        """Instances of sequential cells (flip-flops, latches)."""
        return sum(1 for inst in self.instances if self.library.cells[inst.cell].sequential)

    @cached_property
    def registers(self) -> str:
        """The sequential instances in words, e.g. "3 flip-flops and 1 latch" (flip-flops alone when none)."""
        kinds = Counter(
            "latch" if cell.register is not None and cell.register.kind == "latch" else "flip-flop"
            for cell in (self.library.cells[inst.cell] for inst in self.instances) if cell.sequential
        )
        plural = {"flip-flop": "flip-flops", "latch": "latches"}
        words = [f"{n} {kind if n == 1 else plural[kind]}" for kind, n in sorted(kinds.items())]
        return " and ".join(words) or "0 flip-flops"

    @cached_property
    def transistors(self) -> int | None:
        """Static-CMOS transistor count, or None when a cell's count is unknown."""
        counts = [self.library.cells[i.cell].transistors for i in self.instances]
        return None if any(c is None for c in counts) else int(sum(counts))

    @cached_property
    def leakage(self) -> float:
        """Total cell leakage power in W."""
        return float(sum(self.library.cells[i.cell].leakage for i in self.instances))

    @cached_property
    def fanout(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """For each net, the (instance index, input pin index) pairs it drives."""
        sinks: list[list[tuple[int, int]]] = [[] for _ in self.nets]
        for index, inst in enumerate(self.instances):
            for pin, net in enumerate(inst.inputs):
                sinks[net].append((index, pin))
        return tuple(tuple(s) for s in sinks)

    def load_capacitance(self, external_load: float = 0.0) -> np.ndarray:
        """Load of every net in F: fanout pin capacitances + wire load + `external_load` per output-port bit."""
        load = np.zeros(len(self.nets))
        fanout_count = np.zeros(len(self.nets), dtype=int)
        for inst in self.instances:
            cell = self.library.cells[inst.cell]
            for pin, net in zip(cell.inputs, inst.inputs):
                load[net] += cell.capacitance.get(pin, 0.0)
                fanout_count[net] += 1
        for port in self.outputs:
            for net in port.nets:
                load[net] += external_load
                fanout_count[net] += 1
        wire = self.library.wire_load
        if wire is not None:
            load += np.array([wire.capacitance(int(f)) for f in fanout_count])
        load[[CONST0, CONST1]] = 0.0
        return load

    # -------------------------------------------------------------- validation
    def _where(self, line: int | None = None) -> str:
        if self.source and line:
            return f"{self.source}:{line}: "
        return f"{self.source}: " if self.source else ""

    def _check_cells(self) -> None:
        n = len(self.nets)
        for inst in self.instances:
            cell = self.library.cells.get(inst.cell)
            where = self._where(inst.line)
            if cell is None:
                raise NetlistError(f"{where}instance {inst.name}: unknown cell {inst.cell!r} (not in library {self.library.name})")
            if len(inst.inputs) != len(cell.inputs) or len(inst.outputs) != len(cell.outputs):
                raise NetlistError(
                    f"{where}instance {inst.name}: cell {inst.cell} has {len(cell.inputs)} inputs and "
                    f"{len(cell.outputs)} outputs, got {len(inst.inputs)} and {len(inst.outputs)}"
                )
            for pin, net in zip(cell.inputs, inst.inputs):
                if not 0 <= net < n:
                    raise NetlistError(f"{where}instance {inst.name}: input pin {pin} is unconnected")
            for net in inst.outputs:
                if net in (CONST0, CONST1):
                    raise NetlistError(f"{where}instance {inst.name}: an output pin drives a constant")
        for port in self.ports:
            if port.direction not in ("input", "output"):
                raise NetlistError(f"{self._where()}port {port.name}: direction {port.direction!r} is not supported")

    def _drivers(self) -> np.ndarray:
        """Driving instance per net; -1 for input-port bits and constants."""
        driver = np.full(len(self.nets), -2, dtype=np.int64)
        driver[[CONST0, CONST1]] = -1
        for port in self.inputs:
            for net in port.nets:
                if driver[net] != -2:
                    raise NetlistError(f"{self._where()}net {self.nets[net]} is driven by input port {port.name} and another driver")
                driver[net] = -1
        for index, inst in enumerate(self.instances):
            for net in inst.outputs:
                if net == UNCONNECTED:
                    continue
                if driver[net] != -2:
                    other = "an input port or constant" if driver[net] == -1 else f"instance {self.instances[driver[net]].name}"
                    raise NetlistError(
                        f"{self._where(inst.line)}net {self.nets[net]} has multiple drivers: instance {inst.name} and {other}"
                    )
                driver[net] = index
        for inst in self.instances:
            for net in inst.inputs:
                if driver[net] == -2:
                    raise NetlistError(f"{self._where(inst.line)}net {self.nets[net]} drives instance {inst.name} but has no driver")
        for port in self.outputs:
            for net in port.nets:
                if driver[net] == -2:
                    raise NetlistError(f"{self._where()}net {self.nets[net]} of output port {port.name} has no driver")
        return driver

    def _topological_order(self) -> np.ndarray:
        """Instances in an order where every combinational driver precedes its sinks.

        Sequential cells start the order: their outputs are sources, their inputs sinks.
        """
        cells = self.library.cells
        sequential = [cells[inst.cell].sequential for inst in self.instances]
        pending = np.zeros(len(self.instances), dtype=np.int64)
        for index, inst in enumerate(self.instances):
            if not sequential[index]:
                pending[index] = sum(1 for net in inst.inputs if self._combinational_driver(net) >= 0)
        ready = deque(i for i in range(len(self.instances)) if pending[i] == 0)
        order = []
        while ready:
            index = ready.popleft()
            order.append(index)
            if sequential[index]:
                continue
            for net in self.instances[index].outputs:
                if net == UNCONNECTED:
                    continue
                for sink, _pin in self.fanout[net]:
                    if sequential[sink]:
                        continue
                    pending[sink] -= 1
                    if pending[sink] == 0:
                        ready.append(sink)
        if len(order) != len(self.instances):
            stuck = next(i for i in range(len(self.instances)) if pending[i] > 0)
            inst = self.instances[stuck]
            raise NetlistError(f"{self._where(inst.line)}combinational loop through instance {inst.name}")
        return np.array(order, dtype=np.int64)

    def _combinational_driver(self, net: int) -> int:
        d = int(self.driver[net])
        if d >= 0 and self.library.cells[self.instances[d].cell].sequential:
            return -1
        return d

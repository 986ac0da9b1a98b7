"""Build netlists gate by gate, by role or by cell, with names generators can rely on."""

from __future__ import annotations

from cells.model import Library
from characterize.netlist.ir import CONST_NAMES, UNCONNECTED, Instance, Netlist, Port
from characterize.netlist.techmap import CellMatcher


class NetlistBuilder:
    """Accumulates nets, ports and instances, then validates them into a Netlist.

    `gate("NAND2", a, b)` places the library's smallest NAND2 and returns its
    output net; multi-output roles (HA, FA) return one net per output in the
    role's order (sum, carry).
    """

    def __init__(self, name: str, library: Library, matcher: CellMatcher | None = None):
        self.name = name
        self.library = library
        self.matcher = matcher or CellMatcher(library)
        self.nets: list[str] = list(CONST_NAMES)
        self.ports: list[Port] = []
        self.instances: list[Instance] = []
        self.vectors: dict[str, tuple[int, int]] = {}

    def new_net(self, name: str | None = None) -> int:
        self.nets.append(name or f"n{len(self.nets)}")
        return len(self.nets) - 1

    def input(self, name: str, width: int) -> list[int]:
        """Declare an input bus `name[width-1:0]`; returns its nets, LSB first."""
        nets = [self.new_net(f"{name}[{i}]") for i in range(width)]
        self.ports.append(Port(name, "input", tuple(nets), width - 1, 0))
        self.vectors[name] = (width - 1, 0)
        return nets

    def output(self, name: str, nets: list[int]) -> None:
        """Declare an output bus `name[len-1:0]` carrying `nets` (LSB first).

        A gate-output net takes the port bit's name; a constant, an input bit or
        a net already on an output stays what it is and the Verilog writer
        connects it with an `assign`, as synthesis tools write such bits.
        """
        claimed = {net for port in self.ports for net in port.nets}
        driven = {net for inst in self.instances for net in inst.outputs}
        for i, net in enumerate(nets):
            if net in driven and net not in claimed:
                self.nets[net] = f"{name}[{i}]"
                claimed.add(net)
        self.ports.append(Port(name, "output", tuple(nets), len(nets) - 1, 0))
        self.vectors[name] = (len(nets) - 1, 0)

    def gate(self, role: str, *inputs: int) -> int | tuple[int, ...]:
        """Place the cheapest cell for `role`; returns the output net (or nets)."""
        match = self.matcher.role(role)
        outputs = [self.new_net() for _ in match.outputs]
        self.instance_role(role, list(inputs), outputs)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def instance_role(self, role: str, inputs: list[int], outputs: list[int]) -> None:
        match = self.matcher.role(role)
        cell = self.library.cells[match.cell]
        cell_outputs = [UNCONNECTED] * len(cell.outputs)
        for logical, pin in enumerate(match.outputs):
            cell_outputs[pin] = outputs[logical]
        self.instance(match.cell, [inputs[s] for s in match.sources], cell_outputs)

    def instance(self, cell: str, inputs: list[int], outputs: list[int]) -> None:
        self.instances.append(Instance(f"U{len(self.instances) + 1}", cell, tuple(inputs), tuple(outputs)))

    def build(self) -> Netlist:
        return Netlist(self.name, self.library, self.nets, self.ports, self.instances, self.vectors)


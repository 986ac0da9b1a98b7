"""Weight embedding: fix an input port to a constant and simplify the logic that remains.

`simplify` is a pass Netlist -> Netlist that repeats, until nothing changes:
constant propagation and removal of inputs a gate no longer depends on, merging
of repeated inputs, absorption of inverters into the gates they feed or follow
(double inversion, AND/OR + INV -> NAND/NOR, ...), structural hashing of gates
computing the same function of the same nets, and removal of dead logic. Every
rewrite is driven by truth tables and answered by the library's cheapest
matching cell, so it works for any library. Constants still needed at gate
inputs are finally supplied by one tie cell, as a synthesis tool would.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cells import functions
from cells.model import Library
from characterize.errors import NetlistError
from characterize.netlist.ir import CONST0, CONST1, CONST_NAMES, UNCONNECTED, Instance, Netlist, Port, port_range
from characterize.netlist.techmap import CellMatcher

MAX_PASSES = 32
IDENTITY = 0b10
INVERSION = 0b01

cofactor = lru_cache(maxsize=None)(functions.cofactor)
merge_inputs = lru_cache(maxsize=None)(functions.merge_inputs)
depends_on = lru_cache(maxsize=None)(functions.depends_on)
negate_input = lru_cache(maxsize=None)(functions.negate_input)
permute = functions.permute


def embed_constant(netlist: Netlist, port: str, value: int, matcher: CellMatcher | None = None) -> Netlist:
    """`netlist` with input `port` tied to the integer `value` (two's complement) and simplified."""
    return simplify(tie_constant(netlist, port, value), matcher)


def tie_constant(netlist: Netlist, port: str, value: int) -> Netlist:
    """`netlist` with input `port` removed and its nets tied to the bits of `value` (two's complement), gates as
    they were: what `embed_constant` simplifies, and what an embedded design is proven equal to."""
    target = netlist.port(port)
    if target.direction != "input":
        raise NetlistError(f"port {port} of {netlist.name} is not an input")
    low, high = port_range(target)
    if not low <= value <= high:
        raise NetlistError(f"value {value} does not fit the {target.width}-bit port {port}: expected {low} to {high}")
    constant = {net: CONST1 if (value >> i) & 1 else CONST0 for i, net in enumerate(target.nets)}
    ports = [p for p in netlist.ports if p.name != port]
    instances = [
        Instance(i.name, i.cell, tuple(constant.get(n, n) for n in i.inputs), i.outputs, i.line) for i in netlist.instances
    ]
    outputs = [Port(p.name, p.direction, tuple(constant.get(n, n) for n in p.nets), p.msb, p.lsb) for p in ports]
    return Netlist(f"{netlist.name}_{port}{value}".replace("-", "m"), netlist.library, netlist.nets, outputs, instances,
                   netlist.vectors)


def simplify(netlist: Netlist, matcher: CellMatcher | None = None) -> Netlist:
    """Constant propagation, local rewrites, structural hashing and dead-logic removal to a fixed point."""
    work = _Work(netlist, matcher or CellMatcher(netlist.library))
    for _ in range(MAX_PASSES):
        changed = work.rewrite_pass()
        changed |= work.remove_dead()
        if not changed:
            break
    return work.rebuild()


@dataclass
class _Gate:
    cell: str
    inputs: list[int]
    outputs: list[int]
    alive: bool = True


class _Work:
    """Mutable working copy of a netlist: gates in topological order plus net aliases."""

    def __init__(self, netlist: Netlist, matcher: CellMatcher):
        self.source = netlist
        self.library: Library = netlist.library
        self.matcher = matcher
        self.inverter = matcher.find(1, (INVERSION,))
        self.gates = [
            _Gate(netlist.instances[i].cell, list(netlist.instances[i].inputs), list(netlist.instances[i].outputs))
            for i in netlist.order
        ]
        self.nets = list(netlist.nets)
        self.alias: dict[int, int] = {}
        self.port_nets = {net for p in netlist.outputs for net in p.nets}

    # ------------------------------------------------------------- bookkeeping
    def find(self, net: int) -> int:
        root = net
        while root in self.alias:
            root = self.alias[root]
        while net in self.alias and self.alias[net] != root:
            self.alias[net], net = root, self.alias[net]
        return root

    def new_net(self) -> int:
        self.nets.append(f"n{len(self.nets)}")
        return len(self.nets) - 1

    def area(self, cell: str) -> float:
        return self.library.cells[cell].area

    def fanout_counts(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for gate in self.gates:
            if gate.alive:
                for net in gate.inputs:
                    counts[net] = counts.get(net, 0) + 1
        for net in self.port_nets:
            counts[self.find(net)] = counts.get(self.find(net), 0) + 2  # a port bit is never absorbed
        return counts

    # --------------------------------------------------------------- rewrites
    def rewrite_pass(self) -> bool:
        changed = False
        self.drivers: dict[int, _Gate] = {}
        self.fanout = self.fanout_counts()
        self.inverter_sinks = {g.inputs[0]: g for g in self.gates if self._is_inverter(g)}
        seen: dict[tuple, _Gate] = {}
        result: list[_Gate] = []
        for gate in self.gates:
            resolved = [self.find(n) for n in gate.inputs]
            if resolved != gate.inputs:
                gate.inputs = resolved
                changed = True
            self.placed: list[_Gate] = []
            if gate.alive:
                changed |= self._reduce_gate(gate)
            if gate.alive:
                changed |= self._hash_gate(gate, seen)
            for g in [gate] + self.placed:
                if g.alive:
                    result.append(g)
                    self.drivers.update((net, g) for net in g.outputs if net != UNCONNECTED)
        self.gates = result
        return changed

    def _reduce_gate(self, gate: _Gate) -> bool:
        """Replace the gate by cheaper logic for the functions its connected outputs compute."""
        cell = self.library.cells[gate.cell]
        wanted = [o for o, net in enumerate(gate.outputs) if net != UNCONNECTED]
        if not wanted:
            gate.alive = False
            return True
        tables, nets = self._absorb_inverters([cell.truth_tables[o] for o in wanted], tuple(gate.inputs))
        reduced = [_reduce(table, nets) for table in tables]
        inputs_changed = any(r_nets != tuple(gate.inputs) for _t, r_nets in reduced)
        if not inputs_changed and len(wanted) == len(cell.outputs):
            return len(wanted) == 1 and self._absorb_output_inverter(gate)
        best = self._best_plan(reduced)
        if best is None:
            return False
        cost, plan = best
        current = self.area(gate.cell)
        if cost > current or (cost == current and not inputs_changed):
            return False
        self._apply(gate, wanted, plan)
        return True

    def _best_plan(self, reduced: list[tuple[int, tuple[int, ...]]]):
        """Cheapest way to compute the reduced functions: one multi-output cell, or constants, wires and cells."""
        options = []
        if len(reduced) > 1 and len({nets for _t, nets in reduced}) == 1:
            nets = reduced[0][1]
            joint = self.matcher.find(len(nets), tuple(t for t, _n in reduced))
            if joint is not None:
                options.append((joint.area, [("joint", joint, nets)]))
        split = [self._plan(table, nets) for table, nets in reduced]
        if all(plan is not None for plan in split):
            options.append((sum(p[1].area for p in split if p[0] == "cell"), split))
        return min(options, key=lambda o: o[0]) if options else None

    def _absorb_inverters(self, tables: list[int], nets: tuple[int, ...]) -> tuple[list[int], tuple[int, ...]]:
        """Feed inverted inputs from before their inverter when the gate gets cheaper (or as cheap and the inverter dies)."""
        best = self._best_plan([_reduce(t, nets) for t in tables])
        cost = best[0] if best else float("inf")
        for j, net in enumerate(nets):
            driver = self.drivers.get(net)
            if driver is None or not self._is_inverter(driver):
                continue
            candidate_tables = [negate_input(t, len(nets), j) for t in tables]
            candidate_nets = nets[:j] + (driver.inputs[0],) + nets[j + 1 :]
            candidate = self._best_plan([_reduce(t, candidate_nets) for t in candidate_tables])
            if candidate is None:
                continue
            if candidate[0] < cost or (candidate[0] == cost and self.fanout.get(net, 0) == 1):
                return self._absorb_inverters(candidate_tables, candidate_nets)
        return tables, nets

    def _plan(self, table: int, nets: tuple[int, ...]):
        k = len(nets)
        if k == 0:
            return ("alias", CONST1 if table & 1 else CONST0, nets)
        if k == 1 and table == IDENTITY:
            return ("alias", nets[0], nets)
        match = self.matcher.find(k, (table,))
        return None if match is None else ("cell", match, nets)

    def _apply(self, gate: _Gate, wanted: list[int], plan) -> None:
        outputs = [gate.outputs[o] for o in wanted]
        gate.alive = False
        if plan[0][0] == "joint":
            _kind, match, nets = plan[0]
            self._place(match, nets, outputs)
            return
        for (kind, what, nets), out in zip(plan, outputs):
            if kind == "alias":
                self.alias[out] = what
            else:
                self._place(what, nets, [out])

    def _place(self, match, nets: tuple[int, ...], outputs: list[int]) -> None:
        cell = self.library.cells[match.cell]
        pins = [UNCONNECTED] * len(cell.outputs)
        for logical, pin in enumerate(match.outputs):
            pins[pin] = outputs[logical]
        self.placed.append(_Gate(match.cell, [nets[s] for s in match.sources], pins))

    def _absorb_output_inverter(self, gate: _Gate) -> bool:
        """G followed by an inverter that is G's only sink becomes one cell computing !G when cheaper."""
        if self.inverter is None or len(gate.outputs) != 1:
            return False
        out = gate.outputs[0]
        sink = self.inverter_sinks.get(out)
        if self.fanout.get(out, 0) != 1 or sink is None or not self._is_inverter(sink):
            return False
        table = self.library.cells[gate.cell].truth_tables[0]
        k = len(gate.inputs)
        match = self.matcher.find(k, (functions.table_mask(k) & ~table,))
        if match is None or match.area >= self.area(gate.cell) + self.area(sink.cell):
            return False
        gate.alive = False
        sink.alive = False
        self._place(match, tuple(gate.inputs), [sink.outputs[0]])
        return True

    def _is_inverter(self, gate: _Gate) -> bool:
        cell = self.library.cells[gate.cell]
        return gate.alive and len(cell.inputs) == 1 and len(cell.outputs) == 1 and cell.truth_tables[0] == INVERSION

    def _hash_gate(self, gate: _Gate, seen: dict[tuple, _Gate]) -> bool:
        """Merge the gate into an earlier one computing the same functions of the same nets."""
        key = self._canonical(gate)
        first = seen.get(key)
        if first is None:
            seen[key] = gate
            return False
        first_outputs = {table: o for o, table in enumerate(self._canonical(first)[1])}
        pairs = []
        for o, net in enumerate(gate.outputs):
            if net == UNCONNECTED:
                continue
            target = first_outputs.get(key[1][o])
            if target is None or first.outputs[target] == UNCONNECTED:
                return False
            pairs.append((net, first.outputs[target]))
        for net, target in pairs:
            self.alias[net] = target
        gate.alive = False
        return True

    def _canonical(self, gate: _Gate) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The gate's input nets in ascending order and its output truth tables over them."""
        order = tuple(sorted(range(len(gate.inputs)), key=gate.inputs.__getitem__))
        tables = tuple(permute(t, len(order), order) for t in self.library.cells[gate.cell].truth_tables)
        return tuple(gate.inputs[i] for i in order), tables

    def remove_dead(self) -> bool:
        """Drop gates whose outputs reach no output port; disconnect unused outputs."""
        live = {self.find(n) for n in self.port_nets}
        changed = False
        for gate in reversed(self.gates):
            if not gate.alive:
                continue
            used = [net != UNCONNECTED and net in live for net in gate.outputs]
            if not any(used):
                gate.alive = False
                changed = True
                continue
            for o, keep in enumerate(used):
                if not keep and gate.outputs[o] != UNCONNECTED:
                    gate.outputs[o] = UNCONNECTED
                    changed = True
            live.update(self.find(n) for n in gate.inputs)
        self.gates = [g for g in self.gates if g.alive]
        return changed

    # ----------------------------------------------------------------- output
    def rebuild(self) -> Netlist:
        """A validated Netlist: renumbered nets, port-bit names, one tie cell for gate constants."""
        gates = [g for g in self.gates if g.alive]
        for gate in gates:
            gate.inputs = [self.find(n) for n in gate.inputs]
        ties = self._tie_nets({n for g in gates for n in g.inputs if n in (CONST0, CONST1)})
        for gate in ties[1]:
            gates.insert(0, gate)
        for gate in gates:
            gate.inputs = [ties[0].get(n, n) for n in gate.inputs]
        ports = [Port(p.name, p.direction, tuple(self.find(n) for n in p.nets), p.msb, p.lsb) for p in self.source.ports]
        return _renumber(self.source, ports, gates)

    def _tie_nets(self, constants: set[int]) -> tuple[dict[int, int], list[_Gate]]:
        mapping: dict[int, int] = {}
        placed: dict[str, _Gate] = {}
        for value in sorted(constants):
            tie = self.matcher.tie(value)
            if tie is None:
                continue  # the netlist keeps the literal constant
            cell, pin = tie
            gate = placed.setdefault(cell, _Gate(cell, [], [UNCONNECTED] * len(self.library.cells[cell].outputs)))
            gate.outputs[pin] = self.new_net()
            mapping[value] = gate.outputs[pin]
        return mapping, list(placed.values())


def _reduce(table: int, nets: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """The function over its true support: constants folded, repeated and unused inputs removed."""
    nets = list(nets)
    j = 0
    while j < len(nets):
        if nets[j] in (CONST0, CONST1):
            table = cofactor(table, len(nets), j, nets[j])
            del nets[j]
        else:
            j += 1
    j = 1
    while j < len(nets):
        first = nets.index(nets[j])
        if first < j:
            table = merge_inputs(table, len(nets), first, j)
            del nets[j]
        else:
            j += 1
    j = 0
    while j < len(nets):
        if not depends_on(table, len(nets), j):
            table = cofactor(table, len(nets), j, 0)
            del nets[j]
        else:
            j += 1
    return table, tuple(nets)


def _renumber(source: Netlist, ports: list[Port], gates: list[_Gate]) -> Netlist:
    """Keep only used nets; name output-driving nets after their port bit, others n<i>."""
    used: list[int] = [CONST0, CONST1]
    index = {CONST0: CONST0, CONST1: CONST1}
    names = list(CONST_NAMES)

    def take(net: int, name: str) -> None:
        if net not in index:
            index[net] = len(used)
            used.append(net)
            names.append(name)

    for port in source.inputs:
        for net in port.nets:
            take(net, source.nets[net] if net < len(source.nets) else f"n{net}")
    driven = {n for g in gates for n in g.outputs if n != UNCONNECTED}
    for port in ports:
        if port.direction == "output":
            for i, net in enumerate(port.nets):
                if net in driven and net not in index:
                    take(net, f"{port.name}[{i}]" if port.msb is not None else port.name)
    for gate in gates:
        for net in gate.inputs + gate.outputs:
            if net != UNCONNECTED:
                take(net, "")
    names = [name or f"n{i}" for i, name in enumerate(names)]
    instances = [
        Instance(
            f"U{i + 1}",
            g.cell,
            tuple(index[n] for n in g.inputs),
            tuple(index[n] if n != UNCONNECTED else UNCONNECTED for n in g.outputs),
        )
        for i, g in enumerate(gates)
    ]
    renamed_ports = [Port(p.name, p.direction, tuple(index[n] for n in p.nets), p.msb, p.lsb) for p in ports]
    return Netlist(source.name, source.library, names, renamed_ports, instances, source.vectors, source.source)

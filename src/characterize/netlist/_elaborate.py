"""Turn one parsed structural Verilog module (pyverilog AST) into a Netlist.

Every declared bit gets an id; `assign`s merge ids (union-find) and each merged
class keeps one representative net: a constant, else an input-port bit, else
the bit a cell output drives. Only representatives that a port or a cell pin
uses become nets (numbered in declaration order): a net connected to nothing
is dropped, as power and ground pins are.

Physical layout reaches netlists too: `inout` power ports (VPWR, VGND as
OpenROAD writes them) are accepted and left out of the logic, and instances of
physical-only cells (tap, fill, decap, antenna diode: cells without a logic
output in the library, or cells the library lacks that connect to nothing) are
counted in `Netlist.physical_cells` and otherwise ignored.
"""

from __future__ import annotations

import re

from pyverilog.vparser import ast

from cells.default import default_library_path
from cells.model import Cell, Library
from characterize.errors import NetlistError
from characterize.netlist.ir import CONST0, CONST1, CONST_NAMES, UNCONNECTED, Instance, Netlist, Port

# IEEE 1364-2005 keywords: such names must be written as escaped identifiers.
KEYWORDS = frozenset(
    """always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default
    defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive
    endspecify endtable endtask event for force forever fork function generate genvar highz0 highz1 if
    ifnone incdir include initial inout input instance integer join large liblist library localparam
    macromodule medium module nand negedge nmos nor noshowcancelled not notif0 notif1 or output parameter
    pmos posedge primitive pull0 pull1 pulldown pullup pulsestyle_onevent pulsestyle_ondetect rcmos real
    realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small
    specify specparam strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1
    triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor""".split()
)
SIMPLE_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
BASED_CONSTANT = re.compile(r"(\d+)?'[sS]?([bBoOdDhH])([0-9a-fA-F_xXzZ?]+)")
BASES = {"b": 2, "o": 8, "d": 10, "h": 16}


def normalize(name: str) -> str:
    """`\\abc` names the same net as `abc` (IEEE 1364 3.7.1); keep the backslash only where it is needed."""
    bare = name[1:]
    if name.startswith("\\") and SIMPLE_IDENTIFIER.fullmatch(bare) and bare not in KEYWORDS:
        return bare
    return name


def identifier(name: str) -> str:
    """A name as Verilog source: escaped identifiers end with a space."""
    if name.startswith("\\"):
        return name + " "
    if SIMPLE_IDENTIFIER.fullmatch(name) and name not in KEYWORDS:
        return name
    return f"\\{name} "


class _Declared:
    """One declared name: its range and bit ids, LSB first."""

    def __init__(self, name: str, msb: int | None, lsb: int | None, bits: list[int], line: int):
        self.name, self.msb, self.lsb, self.bits, self.line = name, msb, lsb, bits, line
        self.direction: str | None = None

    def range_text(self) -> str:
        return "" if self.msb is None else f"[{self.msb}:{self.lsb}]"

    def bit(self, index: int) -> int | None:
        """Bit id of `name[index]`, or None when out of range."""
        offset = index - self.lsb if self.msb >= self.lsb else self.lsb - index
        return self.bits[offset] if 0 <= offset < len(self.bits) else None


class Elaborator:
    """Elaborates one module; `netlist()` returns the validated Netlist."""

    def __init__(self, module: ast.ModuleDef, library: Library, source: str, defined: dict[str, ast.ModuleDef],
                 within: tuple[str, ...] = ()):
        self.module = module
        self.library = library
        self.source = source
        self.defined = defined
        self.within = within + (normalize(module.name),)  # the modules being elaborated, to refuse recursion
        self.names: list[str] = list(CONST_NAMES)
        self.parent: list[int] = [CONST0, CONST1]
        self.fixed: list[int | None] = [CONST0, CONST1]  # the constant or input bit a class is tied to
        self.driven: list[bool] = [False, False]
        self.declared: dict[str, _Declared] = {}
        self.bit_owner: dict[str, str] = {}
        self.power_bits: dict[int, str] = {}  # bit id -> name of the inout (power) port it belongs to
        self.physical: dict[str, int] = {}

    def fail(self, line: int, message: str) -> NetlistError:
        return NetlistError(f"{self.source}:{line}: {message}")

    # ------------------------------------------------------------ declarations
    def declare(self, node: ast.Variable | ast.Supply, line: int) -> _Declared:
        name = normalize(node.name)
        msb = lsb = None
        if node.width is not None:
            msb, lsb = self.integer(node.width.msb), self.integer(node.width.lsb)
        old = self.declared.get(name)
        if old is not None:
            if (old.msb, old.lsb) != (msb, lsb):
                new = "" if msb is None else f"[{msb}:{lsb}]"
                was = old.range_text() or "scalar"
                raise self.fail(line, f"width mismatch: {name}{new} was declared {was} on line {old.line}")
            return old
        indices = [None] if msb is None else range(lsb, msb + 1) if msb >= lsb else range(lsb, msb - 1, -1)
        bits = []
        for index in indices:
            bit_name = name if index is None else f"{name}[{index}]"
            if bit_name in self.bit_owner:
                owner = self.bit_owner[bit_name]
                raise self.fail(line, f"net name {bit_name} is declared twice (by {owner} and {name})")
            self.bit_owner[bit_name] = name
            bits.append(len(self.names))
            self.names.append(bit_name)
            self.parent.append(bits[-1])
            self.fixed.append(None)
            self.driven.append(False)
        declared = self.declared[name] = _Declared(name, msb, lsb, bits, line)
        return declared

    def declare_port(self, node: ast.Variable, line: int) -> None:
        declared = self.declare(node, line)
        direction = {ast.Input: "input", ast.Output: "output"}.get(type(node), "inout")
        if direction == "inout":
            self.power_bits.update((bit, declared.name) for bit in declared.bits)
        if declared.direction not in (None, direction):
            raise self.fail(line, f"port {declared.name} is declared both {declared.direction} and {direction}")
        declared.direction = direction
        if direction == "input":
            for bit in declared.bits:
                self.fixed[bit] = bit

    def declarations(self) -> tuple[list[str], list[ast.Assign], list[tuple[ast.Instance, int]]]:
        """Declare every name; return the header port names, the assigns and the instances (with lines)."""
        header, assigns, instances = [], [], []
        for port in self.module.portlist.ports:
            if isinstance(port, ast.Ioport):
                self.declare_port(port.first, port.lineno)
                header.append(normalize(port.first.name))
            elif isinstance(port, ast.Port) and port.width is None:
                header.append(normalize(port.name))
            else:
                raise self.fail(port.lineno, f"unsupported port expression in the header of {self.module.name}")
        for item in self.module.items:
            if isinstance(item, ast.Decl):
                for node in item.list:
                    if isinstance(node, (ast.Input, ast.Output, ast.Inout)):
                        self.declare_port(node, node.lineno)
                    elif isinstance(node, ast.Wire):
                        self.declare(node, node.lineno)
                    elif isinstance(node, ast.Supply):
                        constant = CONST1 if node.value.value == "1" else CONST0
                        for bit in self.declare(node, node.lineno).bits:
                            self.union(bit, constant, node.lineno)
                    elif isinstance(node, ast.Assign):
                        assigns.append(node)
                    else:
                        kind = type(node).__name__.lower()
                        raise self.fail(node.lineno, f"unsupported declaration {kind} {node.name}")
            elif isinstance(item, ast.Assign):
                assigns.append(item)
            elif isinstance(item, ast.InstanceList):
                for k, inst in enumerate(item.instances):
                    # pyverilog gives every instance of a list the list's line; later ones start at their first pin.
                    line = item.lineno if k == 0 or not inst.portlist else inst.portlist[0].lineno
                    instances.append((inst, line))
            elif not isinstance(item, ast.Pragma):
                raise self.fail(item.lineno, f"unsupported construct {type(item).__name__} in a structural netlist")
        module = self.module.name
        for name in header:
            if name not in self.declared or self.declared[name].direction is None:
                message = f"port {name} of module {module} has no input or output declaration"
                raise self.fail(self.module.lineno, message)
        for d in self.declared.values():
            if d.direction is not None and d.name not in header:
                raise self.fail(d.line, f"{d.direction} {d.name} is not in the port list of module {module}")
        return header, assigns, instances

    # ------------------------------------------------------------- expressions
    def integer(self, node: ast.Node) -> int:
        if isinstance(node, ast.IntConst) and node.value.isdigit():
            return int(node.value)
        raise self.fail(node.lineno, "ranges and indices must be plain integers")

    def constant(self, node: ast.IntConst) -> list[int]:
        """Bits of a constant, MSB first (unsized decimals are 32 bits wide)."""
        text = node.value.replace("_", "")
        if text.isdigit():
            width, value = 32, int(text)
        else:
            match = BASED_CONSTANT.fullmatch(text)
            if match is None:
                raise self.fail(node.lineno, f"unsupported constant {node.value}")
            if re.search("[xXzZ?]", match[3]):
                raise self.fail(node.lineno, f"constant {node.value} has x or z bits; only 0 and 1 are supported")
            width, value = int(match[1] or 32), int(match[3], BASES[match[2].lower()])
        return [CONST1 if (value >> i) & 1 else CONST0 for i in reversed(range(width))]

    def lookup(self, node: ast.Node) -> _Declared:
        if not isinstance(node, ast.Identifier):
            raise self.fail(node.lineno, f"unsupported expression {type(node).__name__} (only nets can be indexed)")
        name = normalize(node.name)
        if name not in self.declared:
            raise self.fail(node.lineno, f"undeclared net {name}")
        return self.declared[name]

    def bits(self, node: ast.Node) -> list[int]:
        """Bit ids of an expression, MSB first."""
        if isinstance(node, ast.IntConst):
            return self.constant(node)
        if isinstance(node, ast.Identifier):
            return self.lookup(node).bits[::-1]
        if isinstance(node, (ast.Pointer, ast.Partselect)):
            declared = self.lookup(node.var)
            if declared.msb is None:
                raise self.fail(node.lineno, f"net {declared.name} is a scalar and cannot be indexed")
            if isinstance(node, ast.Pointer):
                msb = lsb = self.integer(node.ptr)
            else:
                msb, lsb = self.integer(node.msb), self.integer(node.lsb)
                if msb != lsb and (msb > lsb) != (declared.msb > declared.lsb):
                    declared_range = f"{declared.name}{declared.range_text()}"
                    raise self.fail(node.lineno, f"part select [{msb}:{lsb}] runs against {declared_range}")
            step = 1 if lsb >= msb else -1
            selected = [declared.bit(i) for i in range(msb, lsb + step, step)]
            if None in selected:
                raise self.fail(node.lineno, f"[{msb}:{lsb}] is outside {declared.name}{declared.range_text()}")
            return selected
        if isinstance(node, ast.Concat):
            return [bit for part in node.list for bit in self.bits(part)]
        if isinstance(node, ast.Repeat):
            return self.bits(node.value) * self.integer(node.times)
        raise self.fail(node.lineno, f"unsupported expression {type(node).__name__} in a structural netlist")

    # ---------------------------------------------------------------- aliasing
    def find(self, bit: int) -> int:
        while self.parent[bit] != bit:
            self.parent[bit] = self.parent[self.parent[bit]]
            bit = self.parent[bit]
        return bit

    def union(self, a: int, b: int, line: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        fa, fb = self.fixed[ra], self.fixed[rb]
        if fa is not None and fb is not None:
            raise self.fail(line, f"net {self.names[a]} has multiple drivers: {self.names[fa]} and {self.names[fb]}")
        self.parent[rb] = ra
        self.fixed[ra] = fa if fa is not None else fb

    def assign(self, node: ast.Assign) -> None:
        left, right = self.bits(node.left.var), self.bits(node.right.var)
        if len(left) != len(right):
            raise self.fail(node.lineno, f"width mismatch: assign of {len(right)} bits to {len(left)} bits")
        if CONST0 in left or CONST1 in left:
            raise self.fail(node.lineno, "a constant cannot be assigned to")
        for bit in left + right:
            if bit in self.power_bits:
                raise self.fail(node.lineno, f"inout port {self.power_bits[bit]} is used in an assign; inout ports are power ports and carry no logic")
        for a, b in zip(left, right):
            self.union(a, b, node.lineno)

    # --------------------------------------------------------------- instances
    def connections(self, inst: ast.Instance, cell: Cell, line: int) -> tuple[list[int], list[int]]:
        """Bit ids on the cell's input and output pins (UNCONNECTED where open)."""
        name = normalize(inst.name)
        args = [(arg.portname, arg.argname) for arg in inst.portlist]
        named = [pin is not None for pin, _ in args]
        if any(named) and not all(named):
            raise self.fail(line, f"instance {name}: named and positional connections are mixed")
        if not any(named):
            if len(args) > len(cell.pins):
                count = f"{len(args)} connections but cell {cell.name} has {len(cell.pins)} pins"
                raise self.fail(line, f"instance {name}: {count}")
            args = list(zip(cell.pins, (expr for _, expr in args)))
        pins: dict[str, int] = {}
        for pin, expr in args:
            pin = normalize(pin)
            if pin in cell.extra_pins:
                continue
            if pin not in cell.inputs and pin not in cell.outputs:
                known = ", ".join(cell.pins)
                raise self.fail(line, f"instance {name}: cell {cell.name} has no pin {pin} (pins: {known})")
            if pin in pins:
                raise self.fail(line, f"instance {name}: pin {pin} is connected twice")
            bits = [UNCONNECTED] if expr is None else self.bits(expr)
            if len(bits) != 1:
                raise self.fail(line, f"width mismatch: instance {name} pin {pin} is connected to {len(bits)} bits")
            if bits[0] in self.power_bits:
                port = self.power_bits[bits[0]]
                raise self.fail(line, f"instance {name}: logic pin {pin} is connected to inout port {port}; inout ports are power ports")
            pins[pin] = bits[0]
        return [pins.get(p, UNCONNECTED) for p in cell.inputs], [pins.get(p, UNCONNECTED) for p in cell.outputs]

    def instance(self, inst: ast.Instance, line: int) -> list[Instance]:
        """The cell instance with bit ids (not yet nets) on its pins, or the flattened instances of a
        module of the file; none for a physical-only cell, which is counted."""
        name = normalize(inst.name)
        module = normalize(inst.module)
        cell = self.library.cells.get(module)
        if inst.parameterlist or inst.array is not None:
            raise self.fail(line, f"instance {name}: parameters and instance arrays are not supported")
        if cell is None and module in self.defined:
            return self.flatten(inst, module, line)
        unconnected = all(arg.argname is None for arg in inst.portlist)
        if (cell is None and unconnected) or (cell is not None and cell.physical_only):
            self.physical[module] = self.physical.get(module, 0) + 1
            return []
        if cell is None:
            raise self.fail(line, f"instance {name}: unknown cell {module} ({self.not_in_library()})")
        inputs, outputs = self.connections(inst, cell, line)
        for bit in outputs:
            if bit != UNCONNECTED:
                self.driven[bit] = True
        return [Instance(name, cell.name, tuple(inputs), tuple(outputs), line)]

    def new_bit(self, name: str) -> int:
        self.names.append(name)
        self.parent.append(len(self.names) - 1)
        self.fixed.append(None)
        self.driven.append(False)
        return len(self.names) - 1

    def flatten(self, inst: ast.Instance, module: str, line: int) -> list[Instance]:
        """The instances of module `module` elaborated on its own, renamed `INSTANCE.NAME` and joined to its ports."""
        name = normalize(inst.name)
        if module in self.within:
            raise self.fail(line, f"instance {name}: module {module} instantiates itself")
        sub = Elaborator(self.defined[module], self.library, self.source, self.defined, self.within).netlist()
        bit = {CONST0: CONST0, CONST1: CONST1}
        for net in range(len(CONST_NAMES), len(sub.nets)):
            bit[net] = self.new_bit("\\" + f"{name}.{sub.nets[net].lstrip(chr(92))}")
        header = [normalize(p.first.name if isinstance(p, ast.Ioport) else p.name) for p in self.defined[module].portlist.ports]
        args = [(arg.portname, arg.argname) for arg in inst.portlist]
        if any(pin is None for pin, _ in args):
            if len(args) > len(header):
                raise self.fail(line, f"instance {name}: {len(args)} connections but module {module} has {len(header)} ports")
            args = list(zip(header, (expr for _, expr in args)))
        ports = {p.name: p for p in sub.ports}
        for pin, expr in args:
            pin = normalize(pin)
            if pin not in header:
                raise self.fail(line, f"instance {name}: module {module} has no port {pin} (ports: {', '.join(header)})")
            if pin not in ports or expr is None:
                continue  # a power port, or an open one
            outer = self.bits(expr)[::-1]
            if len(outer) != ports[pin].width:
                raise self.fail(line, f"width mismatch: instance {name} port {pin} is {ports[pin].width} bits, "
                                      f"connected to {len(outer)}")
            for inner, outside in zip(ports[pin].nets, outer):
                if outside in self.power_bits:
                    raise self.fail(line, f"instance {name}: port {pin} is connected to inout port {self.power_bits[outside]}")
                self.union(outside, bit[inner], line)
        for cell, count in sub.physical_cells.items():
            self.physical[cell] = self.physical.get(cell, 0) + count
        flattened = []
        for inner in sub.instances:
            outputs = tuple(UNCONNECTED if n == UNCONNECTED else bit[n] for n in inner.outputs)
            for b in outputs:
                if b != UNCONNECTED:
                    self.driven[b] = True
            flattened.append(Instance(f"{name}.{inner.name}", inner.cell, tuple(bit[n] for n in inner.inputs), outputs, line))
        return flattened

    def not_in_library(self) -> str:
        if self.library.source and self.library.source == str(default_library_path()):
            return "not in the built-in subset library; pass --library with the full Liberty file"
        return f"not in library {self.library.source or self.library.name}"

    # ----------------------------------------------------------------- netlist
    def netlist(self) -> Netlist:
        header, assigns, raw = self.declarations()
        instances = [i for inst, line in raw for i in self.instance(inst, line)]
        first_line: dict[str, int] = {}
        for inst in instances:
            if inst.name in first_line:
                first = first_line[inst.name]
                raise self.fail(inst.line, f"instance name {inst.name} is used twice (first on line {first})")
            first_line[inst.name] = inst.line
        for node in assigns:
            self.assign(node)
        representative = self.representatives()
        for d in self.declared.values():
            for bit in d.bits if d.direction == "output" else ():
                rep = representative[bit]
                if self.fixed[self.find(rep)] is None and not self.driven[rep]:
                    raise self.fail(d.line, f"net {self.names[rep]} of output port {d.name} has no driver")
        used = {representative[b] for d in self.declared.values() if d.direction in ("input", "output") for b in d.bits}
        used |= {representative[b] for inst in instances for b in inst.inputs + inst.outputs if b != UNCONNECTED}
        kept = [CONST0, CONST1] + sorted(used - {CONST0, CONST1})
        index = {bit: i for i, bit in enumerate(kept)}

        def nets(bits: tuple[int, ...] | list[int]) -> tuple[int, ...]:
            return tuple(UNCONNECTED if b == UNCONNECTED else index[representative[b]] for b in bits)

        ports = []
        for name in header:
            d = self.declared[name]
            if d.direction != "inout":
                ports.append(Port(name, d.direction, nets(d.bits), d.msb, d.lsb))
        cells = [Instance(i.name, i.cell, nets(i.inputs), nets(i.outputs), i.line) for i in instances]
        vectors = {d.name: (d.msb, d.lsb) for d in self.declared.values() if d.msb is not None}
        names = [self.names[bit] for bit in kept]
        module = normalize(self.module.name)
        return Netlist(module, self.library, names, ports, cells, vectors, self.source, self.physical)

    def representatives(self) -> list[int]:
        """For every bit id, the bit that names its class: tied constant or input, else a driven bit, else the first."""
        best: dict[int, int] = {}
        for bit in range(len(self.names)):
            root = self.find(bit)
            if self.fixed[root] is not None:
                best[root] = self.fixed[root]
            elif root not in best or (self.driven[bit] and not self.driven[best[root]]):
                best[root] = bit
        return [best[self.find(bit)] for bit in range(len(self.names))]

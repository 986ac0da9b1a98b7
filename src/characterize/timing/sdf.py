"""SDF 3.0 in and out of a delay calculation: IOPATH (rise, fall) per instance arc and INTERCONNECT per sink.

An arc whose output edge can follow either input edge (a binate arc, e.g. of an
XOR) is written edge by edge, `(IOPATH (posedge A) Y ...)` and `(negedge A)`,
so a reader gets exactly the delays the calculation timed; every other arc is
one `(IOPATH A Y (rise) (fall))`. Times are in picoseconds (`TIMESCALE 1ps`),
each value as a `v:v:v` triplet.

`read_sdf` takes what OpenSTA's `write_sdf` writes: header entries, TIMESCALE,
ABSOLUTE `IOPATH` (with `posedge`/`negedge` input ports) and `INTERCONNECT`,
values as `v`, `min:typ:max` or `()`. Of a triplet the max value is used (the
late corner that `report_checks` times), else typ, else min. The k-th IOPATH of
an instance for one pin pair annotates the cell's k-th timing arc for that
pair, as OpenSTA writes one per arc. Anything else (COND, INCREMENT, timing
checks, PORT delays) is rejected with its line, as are unknown instances and
pins and instances the file does not cover.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from cells.files import write_text
from cells.units import PS_PER_S, SI_PREFIXES
from characterize.errors import NetlistError
from characterize.netlist.ir import CONST_NAMES, Netlist
from characterize.timing.delaycalc import FALL, RISE, ArcDelay, DelayCalculation, calculate_delays, edge_pairs
from characterize.timing.timed_verilog import module_name

_EDGE_KEYWORD = ("posedge", "negedge")


def format_sdf(calc: DelayCalculation) -> str:
    """The SDF text of `calc` (see the module docstring)."""
    netlist = calc.netlist
    lines = [
        "(DELAYFILE",
        '  (SDFVERSION "3.0")',
        f'  (DESIGN "{module_name(netlist)}")',
        '  (PROGRAM "gatedse")',
        "  (DIVIDER /)",
        "  (TIMESCALE 1ps)",
    ]
    interconnect = []
    drivers = {}
    for index, inst in enumerate(netlist.instances):
        cell = netlist.library.cells[inst.cell]
        for pin, net in zip(cell.outputs, inst.outputs):
            drivers[net] = f"{_name(inst.name)}/{pin}"
    for port in netlist.inputs:
        for net in port.nets:
            drivers[net] = _name(netlist.nets[net])
    for index, inst in enumerate(netlist.instances):
        cell = netlist.library.cells[inst.cell]
        for pin, net in enumerate(inst.inputs):
            if netlist.nets[net] in CONST_NAMES or net not in drivers:
                continue
            rise, fall = calc.sink_delay_s[(index, pin)]
            interconnect.append(f"{drivers[net]} {_name(inst.name)}/{cell.inputs[pin]} {_pair(rise, fall)}")
    for port in netlist.outputs:
        for net in port.nets:
            if net in drivers and drivers[net] != _name(netlist.nets[net]):
                rise, fall = calc.port_delay_s[net]
                interconnect.append(f"{drivers[net]} {_name(netlist.nets[net])} {_pair(rise, fall)}")
    if interconnect:
        lines += _cell_block(f'"{module_name(netlist)}"', "", [f"(INTERCONNECT {entry})" for entry in interconnect])
    for index, inst in enumerate(netlist.instances):
        paths = _iopaths(calc, index)
        if paths:
            lines += _cell_block(f'"{inst.cell}"', _name(inst.name), paths)
    lines.append(")")
    return "\n".join(lines) + "\n"


def write_sdf(calc: DelayCalculation, path: str | Path) -> Path:
    """`format_sdf(calc)` written to `path` (atomically)."""
    return write_text(path, format_sdf(calc))


def _iopaths(calc: DelayCalculation, index: int) -> list[str]:
    """IOPATH entries of one instance: per (input, output, input edge) the largest delay per output edge."""
    delays: dict[tuple[str, str], dict[int, list[float | None]]] = {}
    for arc in calc.arcs_by_instance.get(index, ()):
        by_edge = delays.setdefault((arc.from_pin, arc.to_pin), {})
        worst = by_edge.setdefault(arc.from_edge, [None, None])
        if worst[arc.to_edge] is None or arc.delay_s > worst[arc.to_edge]:
            worst[arc.to_edge] = arc.delay_s
    entries = []
    for (source, target), by_edge in delays.items():
        binate = any(None not in worst for worst in by_edge.values())
        if binate:
            for edge, (rise, fall) in sorted(by_edge.items()):
                entries.append(f"(IOPATH ({_EDGE_KEYWORD[edge]} {source}) {target} {_pair(rise, fall)})")
        else:
            rise = max((w[RISE] for w in by_edge.values() if w[RISE] is not None), default=None)
            fall = max((w[FALL] for w in by_edge.values() if w[FALL] is not None), default=None)
            entries.append(f"(IOPATH {source} {target} {_pair(rise, fall)})")
    return entries


def _cell_block(celltype: str, instance: str, entries: list[str]) -> list[str]:
    return [
        "  (CELL",
        f"    (CELLTYPE {celltype})",
        f"    (INSTANCE {instance})" if instance else "    (INSTANCE)",
        "    (DELAY",
        "      (ABSOLUTE",
        *(f"        {entry}" for entry in entries),
        "      )",
        "    )",
        "  )",
    ]


def _pair(rise_s: float | None, fall_s: float | None) -> str:
    return f"{_triplet(rise_s)} {_triplet(fall_s)}"


def _triplet(value_s: float | None) -> str:
    if value_s is None:
        return "()"
    text = f"{value_s * PS_PER_S:.4f}"
    return f"({text}:{text}:{text})"


def _name(name: str) -> str:
    """A Verilog name as an SDF identifier: escaped names lose the backslash and escape their specials."""
    if name.startswith("\\"):
        body = name[1:].strip()
        return "".join(f"\\{c}" if not (c.isalnum() or c == "_") else c for c in body)
    return name


_TOKEN = re.compile(r'\s+|(?P<open>\()|(?P<close>\))|(?P<string>"[^"]*")|(?P<atom>(?:\\.|[^\s()"])+)')
_HEADER = {"SDFVERSION", "DESIGN", "DATE", "VENDOR", "PROGRAM", "VERSION", "DIVIDER", "VOLTAGE", "PROCESS",
           "TEMPERATURE", "TIMESCALE"}
_TIME_UNITS = {f"{prefix}s": factor for prefix, factor in SI_PREFIXES.items() if factor <= 1.0}  # s, ms, ... fs


class _Group(list):
    """A parenthesized SDF group: its items (atoms as (text, line), groups) and the line it starts on."""

    line: int = 0


def read_sdf(path: str | Path, netlist: Netlist, input_slew_s: float, output_load_f: float) -> DelayCalculation:
    """The delay calculation of `netlist` with every arc and interconnect delay taken from the SDF at `path`.

    Slews and loads stay those of the library's tables (`calculate_delays`), for
    the energy calculation; sinks without an INTERCONNECT entry get no wire delay.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise NetlistError(f"{path}: cannot read: {exc.strerror}") from None
    root = _parse(text, path)
    calc = calculate_delays(netlist, input_slew_s, output_load_f)
    reader = _SdfAnnotation(path, netlist, calc)
    reader.read(root)
    return reader.result()


def _parse(text: str, path: Path) -> _Group:
    stack = [_Group()]
    line = 1
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise NetlistError(f"{path}:{line}: unreadable SDF text {text[position:position + 20]!r}")
        token = match.group(0)
        if match.group("open"):
            group = _Group()
            group.line = line
            stack[-1].append(group)
            stack.append(group)
        elif match.group("close"):
            if len(stack) == 1:
                raise NetlistError(f"{path}:{line}: unbalanced ')'")
            stack.pop()
        elif match.group("string") or match.group("atom"):
            stack[-1].append((token, line))
        line += token.count("\n")
        position = match.end()
    if len(stack) != 1 or len(stack[0]) != 1 or not isinstance(stack[0][0], _Group):
        raise NetlistError(f"{path}:{line}: the file is not one (DELAYFILE ...) group")
    return stack[0][0]


def _keyword(group: _Group) -> str:
    return group[0][0].upper() if group and isinstance(group[0], tuple) else ""


class _SdfAnnotation:
    def __init__(self, path: Path, netlist: Netlist, calc: DelayCalculation):
        self.path, self.netlist, self.calc = path, netlist, calc
        self.scale = 1e-9
        self.divider = "/"
        self.instances = {_plain(inst.name): k for k, inst in enumerate(netlist.instances)}
        self.nets = {_plain(name): k for k, name in enumerate(netlist.nets)}
        self.arcs: dict[int, list[ArcDelay]] = {}
        self.sink_delay = dict.fromkeys(calc.sink_delay_s, (0.0, 0.0))
        self.port_delay = dict.fromkeys(calc.port_delay_s, (0.0, 0.0))
        self.iopath_count: dict[tuple[int, str, str], int] = {}

    def fail(self, line: int, message: str) -> NetlistError:
        return NetlistError(f"{self.path}:{line}: {message}")

    def read(self, root: _Group) -> None:
        if _keyword(root) != "DELAYFILE":
            raise self.fail(root.line, "expected (DELAYFILE ...)")
        for item in root[1:]:
            if not isinstance(item, _Group):
                raise self.fail(item[1], f"unexpected {item[0]!r} in DELAYFILE")
            keyword = _keyword(item)
            if keyword == "TIMESCALE":
                self.scale = self.timescale(item)
            elif keyword == "DIVIDER":
                self.divider = item[1][0] if len(item) > 1 else "/"
            elif keyword == "CELL":
                self.cell(item)
            elif keyword not in _HEADER:
                raise self.fail(item.line, f"unsupported SDF construct ({keyword or '...'})")

    def timescale(self, group: _Group) -> float:
        text = "".join(token for token, _ in group[1:])
        match = re.fullmatch(r"(1|10|100|1\.0|10\.0|100\.0)?([munpf]?s)", text)
        if match is None:
            raise self.fail(group.line, f"bad TIMESCALE {text!r}")
        return float(match.group(1) or 1) * _TIME_UNITS[match.group(2)]

    def cell(self, group: _Group) -> None:
        instance = None
        for item in group[1:]:
            keyword = _keyword(item) if isinstance(item, _Group) else ""
            if keyword == "CELLTYPE":
                continue
            if keyword == "INSTANCE":
                instance = self.instance(item)
            elif keyword == "DELAY":
                for block in item[1:]:
                    if not isinstance(block, _Group) or _keyword(block) != "ABSOLUTE":
                        raise self.fail(_line(block), "only ABSOLUTE delays are supported")
                    for entry in block[1:]:
                        self.delay(entry, instance)
            else:
                raise self.fail(_line(item), f"unsupported SDF construct ({keyword or item[0]}) in CELL")

    def instance(self, group: _Group) -> int | None:
        if len(group) == 1:
            return None
        name = _plain(group[1][0])
        if name not in self.instances:
            raise self.fail(group.line, f"instance {group[1][0]} is not in netlist {self.netlist.name}")
        return self.instances[name]

    def delay(self, entry, instance: int | None) -> None:
        keyword = _keyword(entry) if isinstance(entry, _Group) else ""
        if keyword == "IOPATH" and instance is not None:
            self.iopath(entry, instance)
        elif keyword == "INTERCONNECT":
            self.interconnect(entry, instance)
        else:
            raise self.fail(_line(entry), f"unsupported SDF construct ({keyword or entry[0]}) in DELAY")

    def iopath(self, entry: _Group, instance: int) -> None:
        inst = self.netlist.instances[instance]
        cell = self.netlist.library.cells[inst.cell]
        source, edges = entry[1], (RISE, FALL)
        if isinstance(source, _Group):
            edge = _keyword(source).lower()
            if edge not in ("posedge", "negedge") or len(source) != 2:
                raise self.fail(source.line, "an IOPATH input is a pin, (posedge pin) or (negedge pin)")
            edges, source = ((RISE,) if edge == "posedge" else (FALL,)), source[1]
        from_pin, to_pin = _plain(source[0]), _plain(entry[2][0]) if isinstance(entry[2], tuple) else ""
        library_arcs = [a for a in cell.timing if a.related_pin == from_pin and a.pin == to_pin]
        if not library_arcs:
            raise self.fail(entry.line, f"cell {cell.name} of instance {inst.name} has no arc {source[0]} -> {to_pin}")
        if len(edges) == 1:  # an edge-qualified path annotates that input edge of every arc of the pair
            pairs = {pair for arc in library_arcs for pair in edge_pairs(arc.timing_sense) if pair[0] in edges}
        else:
            k = self.iopath_count.get((instance, from_pin, to_pin), 0)
            self.iopath_count[(instance, from_pin, to_pin)] = k + 1
            pairs = set(edge_pairs(library_arcs[min(k, len(library_arcs) - 1)].timing_sense))
        values = self.values(entry[3:], entry.line)
        for from_edge, to_edge in sorted(pairs):
            if values[to_edge] is not None:
                self.arcs.setdefault(instance, []).append(
                    ArcDelay(instance, from_pin, to_pin, from_edge, to_edge, values[to_edge], 0.0)
                )

    def interconnect(self, entry: _Group, instance: int | None) -> None:
        if len(entry) < 4 or not isinstance(entry[2], tuple):
            raise self.fail(entry.line, "INTERCONNECT needs a source, a sink and delays")
        sink = _plain(entry[2][0])
        values = self.values(entry[3:], entry.line)
        delay = (values[RISE] or 0.0, values[FALL] or 0.0)
        if self.divider in sink:
            name, pin = sink.rsplit(self.divider, 1)
            if name not in self.instances:
                raise self.fail(entry.line, f"instance {name} is not in netlist {self.netlist.name}")
            index = self.instances[name]
            cell = self.netlist.library.cells[self.netlist.instances[index].cell]
            if pin not in cell.inputs:
                raise self.fail(entry.line, f"cell {cell.name} has no input pin {pin}")
            self.sink_delay[(index, cell.inputs.index(pin))] = delay
        elif sink in self.nets and self.nets[sink] in self.port_delay:
            self.port_delay[self.nets[sink]] = delay
        else:
            raise self.fail(entry.line, f"INTERCONNECT sink {entry[2][0]} is no instance pin or output port")

    def values(self, groups, line: int) -> tuple[float | None, float | None]:
        """(rise, fall) in seconds from one or two delay groups; one value serves both edges."""
        parsed = []
        for group in groups:
            if not isinstance(group, _Group):
                raise self.fail(line, f"expected a delay value in parentheses, got {group[0]!r}")
            if not all(isinstance(item, tuple) for item in group):
                raise self.fail(group.line, "a delay value holds no groups")
            text = "".join(token for token, _ in group)
            numbers = [part for part in reversed(text.split(":")) if part.strip()]
            try:
                parsed.append(float(numbers[0]) * self.scale if numbers else None)
            except ValueError:
                raise self.fail(group.line, f"bad delay value ({text})") from None
        if len(parsed) == 1:
            return parsed[0], parsed[0]
        if len(parsed) == 2:
            return parsed[0], parsed[1]
        raise self.fail(line, f"expected (rise) (fall) delays, got {len(parsed)} values")

    def result(self) -> DelayCalculation:
        missing = [self.netlist.instances[k].name for k in self.calc.arcs_by_instance if k not in self.arcs]
        if missing:
            raise NetlistError(f"{self.path}: no IOPATH for instance(s) {', '.join(missing[:5])}")
        arcs = tuple(arc for k in sorted(self.arcs) for arc in self.arcs[k])
        return replace(self.calc, arcs=arcs, sink_delay_s=self.sink_delay, port_delay_s=self.port_delay)


def _line(item) -> int:
    return item.line if isinstance(item, _Group) else item[1]


def _plain(name: str) -> str:
    """A Verilog or SDF name without escapes: `a\\[1\\]` (SDF) and `\\a[1] ` (Verilog) both read `a[1]`."""
    return re.sub(r"\\(.)", r"\1", name.strip().strip('"'))

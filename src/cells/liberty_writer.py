"""Write a Library back to Liberty text, so that reading it again gives the same Library.

Only what the model keeps is written: units, nominal voltage, the default wire
load, table templates (variables only; every table carries its own indices),
and per cell its area, transistor count, leakage, pins, combinational timing
arcs and internal-power arcs. Values are converted from SI back to the
library's units and printed with 15 significant digits, which reproduces
every number a Liberty file states with at most 15 digits.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from cells.files import atomic_path
from cells.functions import function_variables
from cells.model import Cell, Library, PowerArc, Register, TimingArc
from cells.tables import Table

DELAY_TABLES = ("cell_rise", "cell_fall", "rise_transition", "fall_transition")
CONSTRAINT_TABLES = ("rise_constraint", "fall_constraint")
INDENT = "    "


def write_liberty(library: Library, path: str | Path) -> None:
    """Write `library` as a Liberty file; gzip-compressed when `path` ends with .gz."""
    path = Path(path)
    data = format_liberty(library).encode()
    with atomic_path(path) as partial:
        partial.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def format_liberty(library: Library) -> str:
    """Liberty text of `library`."""
    return "\n".join(_LibraryFormatter(library).lines()) + "\n"


def _number(value: float) -> str:
    return "%.15g" % value


def _quoted(text: str) -> str:
    return f'"{text}"'


class _LibraryFormatter:
    def __init__(self, library: Library):
        self.library = library
        self.units = library.units
        self.power_templates = {
            table.template
            for cell in library.cells.values()
            for arc in cell.power
            for table in (arc.rise_energy, arc.fall_energy)
            if table is not None
        }

    def lines(self) -> list[str]:
        lib, units = self.library, self.units
        cap_value, cap_unit = units.capacitance_text
        out = [
            f"library ({_quoted(lib.name)}) {{",
            "define(transistors,cell,integer);",
            'delay_model : "table_lookup";',
            f"time_unit : {_quoted(units.time_text)};",
            f"voltage_unit : {_quoted(units.voltage_text)};",
            f"leakage_power_unit : {_quoted(units.leakage_text)};",
            f"pulling_resistance_unit : {_quoted(units.resistance_text)};",
            f"capacitive_load_unit ({_number(cap_value)}, {_quoted(cap_unit)});",
            f"nom_voltage : {_number(lib.voltage / units.voltage)};",
        ]
        vth, vl, vh, derate = lib.slew_thresholds
        for edge in ("rise", "fall"):
            out += [f"output_threshold_pct_{edge} : {_number(vth * 100)};",
                    f"slew_lower_threshold_pct_{edge} : {_number(vl * 100)};",
                    f"slew_upper_threshold_pct_{edge} : {_number(vh * 100)};"]
        out.append(f"slew_derate_from_library : {_number(derate)};")
        if lib.temperature is not None:
            out.append(f"nom_temperature : {_number(lib.temperature)};")
        if lib.wire_load is not None:
            out += self._wire_load()
        for name, variables in lib.templates.items():
            kind = "power_lut_template" if name in self.power_templates else "lu_table_template"
            out.append(f"{kind} ({_quoted(name)}) {{")
            out += [f"{INDENT}variable_{i} : {_quoted(v)};" for i, v in enumerate(variables, start=1)]
            out.append("}")
        for cell in lib.cells.values():
            out += self._cell(cell)
        return [out[0]] + [INDENT + line for line in out[1:]] + ["}"]

    def _wire_load(self) -> list[str]:
        wire = self.library.wire_load
        return [
            f"wire_load ({_quoted(wire.name)}) {{",
            f"{INDENT}capacitance : {_number(wire.capacitance_per_length / self.units.capacitance)};",
            f"{INDENT}resistance : {_number(wire.resistance_per_length / self.units.resistance)};",
            f"{INDENT}slope : {_number(wire.slope)};",
            *(f"{INDENT}fanout_length ({fanout}, {_number(length)});" for fanout, length in wire.fanout_length),
            "}",
            f"default_wire_load : {_quoted(wire.name)};",
        ]

    def _cell(self, cell: Cell) -> list[str]:
        body = [f"area : {_number(cell.area)};"]
        if cell.transistors is not None:
            body.append(f"transistors : {cell.transistors};")
        body.append(f"cell_leakage_power : {_number(cell.leakage / self.units.leakage)};")
        for state in cell.leakage_states:
            when = [f"when : {_quoted(state.when)};"] if state.when else []
            body += ["leakage_power () {", *(INDENT + line for line in when),
                     f"{INDENT}value : {_number(state.power / self.units.leakage)};", "}"]
        named = {v for f in cell.functions.values() for v in function_variables(f)}
        if cell.register is not None:
            body += _register(cell.register)
        elif cell.sequential:
            # Liberty's ff names two state variables; the functions may use only one.
            state = sorted(named - set(cell.inputs)) or ["IQ"]
            if len(state) == 1:
                state.append(state[0] + "N")
            body += [f"ff ({', '.join(_quoted(s) for s in state)}) {{", "}"]
        for pin in _pin_order(cell):
            body += self._pin(cell, pin, named)
        return [f"cell ({_quoted(cell.name)}) {{", *(INDENT + line for line in body), "}"]

    def _pin(self, cell: Cell, pin: str, named: set[str]) -> list[str]:
        timing = [a for a in cell.timing if a.pin == pin]
        power = [a for a in cell.power if a.pin == pin]
        if pin in cell.inputs:
            body = ["direction : input;", f"capacitance : {_number(cell.capacitance[pin] / self.units.capacitance)};"]
            for key, edge in (("rise_capacitance", cell.rise_capacitance), ("fall_capacitance", cell.fall_capacitance)):
                if pin in edge:
                    body.append(f"{key} : {_number(edge[pin] / self.units.capacitance)};")
        elif pin in cell.outputs:
            body = ["direction : output;"]
            if pin in cell.functions:
                body.append(f"function : {_quoted(cell.functions[pin])};")
        elif pin in named or timing or power:
            body = ["direction : internal;"]
        else:
            return [f"pg_pin ({_quoted(pin)}) {{", "}"]
        for arc in timing:
            body += self._timing(arc)
        for arc in power:
            body += self._power(arc)
        return [f"pin ({_quoted(pin)}) {{", *(INDENT + line for line in body), "}"]

    def _timing(self, arc: TimingArc) -> list[str]:
        body = [f"related_pin : {_quoted(arc.related_pin)};", f"timing_sense : {_quoted(arc.timing_sense)};"]
        if arc.timing_type != "combinational":
            body.append(f"timing_type : {_quoted(arc.timing_type)};")
        for kind in DELAY_TABLES + CONSTRAINT_TABLES:
            table = getattr(arc, kind)
            if table is not None:
                body += self._table(kind, table, self.units.time)
        return ["timing () {", *(INDENT + line for line in body), "}"]

    def _power(self, arc: PowerArc) -> list[str]:
        body = [f"related_pin : {_quoted(arc.related_pin)};"] if arc.related_pin else []
        if arc.when:
            body.append(f"when : {_quoted(arc.when)};")
        for kind, table in (("rise_power", arc.rise_energy), ("fall_power", arc.fall_energy)):
            if table is not None:
                body += self._table(kind, table, self.units.energy)
        return ["internal_power () {", *(INDENT + line for line in body), "}"]

    def _table(self, kind: str, table: Table, scale: float) -> list[str]:
        body = []
        for i, (variable, axis) in enumerate(zip(table.variables, (table.index_1, table.index_2)), start=1):
            axis_scale = self.units.capacitance if "capacitance" in variable else self.units.time
            body.append(f"index_{i} ({_row(axis, axis_scale)});")
        if len(table.variables) == 1:
            rows = [tuple(row[0] for row in table.values)]
        else:
            rows = list(table.values)
        body.append(f"values ({', '.join(_row(row, scale) for row in rows)});")
        return [f"{kind} ({_quoted(table.template)}) {{", *(INDENT + line for line in body), "}"]


def _register(register: Register) -> list[str]:
    """The ff or latch group of a register."""
    keys = ("clocked_on", "next_state") if register.kind == "ff" else ("enable", "data_in")
    fields = dict(zip(keys, (register.clock, register.data)))
    fields.update(clear=register.clear, preset=register.preset, clear_preset_var1=register.clear_preset_var1,
                  clear_preset_var2=register.clear_preset_var2)
    body = [f"{key} : {_quoted(value)};" for key, value in fields.items() if value is not None]
    return [f"{register.kind} ({', '.join(_quoted(s) for s in register.state)}) {{", *(INDENT + b for b in body), "}"]


def _row(values: tuple[float, ...], scale: float) -> str:
    return _quoted(", ".join(_number(v / scale) for v in values))


def _pin_order(cell: Cell) -> list[str]:
    """An order of the pins that reproduces the order of the inputs, outputs, other pins and arcs.

    The reader collects each of these lists in file order, so the pins are
    written in an order consistent with all of them at once.
    """
    pins = list(cell.extra_pins + cell.inputs + cell.outputs)
    before: dict[str, set[str]] = {p: set() for p in pins}
    chains = (cell.extra_pins, cell.inputs, cell.outputs, [a.pin for a in cell.timing], [a.pin for a in cell.power])
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            if a != b and a in before and b in before:
                before[b].add(a)
    order: list[str] = []
    while len(order) < len(pins):
        ready = next((p for p in pins if p not in order and before[p] <= set(order)), None)
        if ready is None:
            return pins
        order.append(ready)
    return order

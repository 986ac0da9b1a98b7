"""Read a Liberty (.lib) file into a Library, with errors that name file, line and cell."""

from __future__ import annotations

import gzip
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cells.errors import LibraryError
from cells.functions import function_variables
from cells.model import Cell, LeakageState, Library, PowerArc, Register, TimingArc, Units, WireLoad
from cells.tables import Table
from cells.transistors import transistor_count
from cells.units import SI_PREFIXES

if TYPE_CHECKING:
    from liberty.types import Group

SEQUENTIAL_GROUPS = {"ff", "latch", "ff_bank", "latch_bank", "statetable", "memory"}
DELAY_TABLES = ("cell_rise", "cell_fall", "rise_transition", "fall_transition")
CONSTRAINT_TABLES = ("rise_constraint", "fall_constraint")
# Arcs the model keeps: delays (combinational, clock to output) and the setup/hold checks of registers.
TIMING_TYPES = ("combinational", "combinational_rise", "combinational_fall", "rising_edge", "falling_edge",
                "setup_rising", "setup_falling", "hold_rising", "hold_falling", "clear", "preset")
_CELL_LINE = re.compile(r'^\s*cell\s*\(\s*"?([^")\s]+)"?\s*\)', re.MULTILINE)


def read_liberty(path: str | Path) -> Library:
    """Parse a Liberty file (plain or .gz) into a Library in SI units.

    A cell without the user attribute `transistors` gets the textbook estimate
    of cells.transistors (None when its function is not a textbook gate).
    """
    # liberty-parser (and sympy under it) take about a second to import; load_library's cache skips them
    from liberty.parser import ExceptionWithLineNum, parse_liberty

    path = Path(path)
    text = liberty_text(path)
    try:
        root = parse_liberty(text)
    except ExceptionWithLineNum as exc:  # its line count starts at 0
        raise LibraryError(f"{path}:{exc.line_num + 1}: malformed Liberty: {exc.e!r}") from None
    except Exception as exc:  # liberty-parser raises several unrelated types
        raise LibraryError(f"{path}: malformed Liberty: {_first_line(exc)}") from None
    if root.group_name != "library":
        raise LibraryError(f"{path}: top-level group is {root.group_name!r}, not 'library'")
    lines = {m.group(1): text.count("\n", 0, m.start()) + 1 for m in _CELL_LINE.finditer(text)}
    return _LibraryBuilder(path, root, lines).build()


def plain_liberty(path: str | Path, folder: str | Path) -> Path:
    """`path` itself, or for a gzipped Liberty file a plain copy in `folder` (for tools that read only plain
    files: yosys, ABC, OpenSTA 2.0.17)."""
    path = Path(path)
    with path.open("rb") as file:
        if file.read(2) != b"\x1f\x8b":
            return path
    copy = Path(folder) / (path.name.removesuffix(".gz") or "library.lib")
    copy.write_text(liberty_text(path))
    return copy


def liberty_text(path: Path) -> str:
    """The text of a Liberty file, plain or gzipped."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LibraryError(f"{path}: cannot read: {exc.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _text(value) -> str:
    return str(value).strip('"')


def parse_quantity(text: str, unit: str) -> float:
    """'1ns' -> 1e-9 for unit 's'; '10ps' -> 1e-11."""
    match = re.fullmatch(r"\s*([0-9.eE+-]*)\s*([fpnumk]?)" + unit + r"\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(text)
    number = float(match.group(1) or 1.0)
    return number * SI_PREFIXES[match.group(2).lower() if match.group(2) != "m" else "m"]


class _LibraryBuilder:
    def __init__(self, path: Path, root: Group, lines: dict[str, int]):
        self.path = path
        self.root = root
        self.lines = lines
        self.units = self._units()
        self.templates = {
            _text(g.args[0]): tuple(_text(g.get(f"variable_{i}")) for i in (1, 2, 3) if g.get(f"variable_{i}"))
            for g in root.groups
            if g.group_name in ("lu_table_template", "power_lut_template") and g.args
        }

    def fail(self, cell: str, message: str) -> LibraryError:
        line = self.lines.get(cell)
        where = f"{self.path}:{line}" if line else str(self.path)
        return LibraryError(f"{where}: cell {cell}: {message}")

    def build(self) -> Library:
        cells = {}
        for group in self.root.get_groups("cell"):
            cell = self._cell(group)
            cells[cell.name] = cell
        if not cells:
            raise LibraryError(f"{self.path}: library has no cells")
        return Library(
            name=_text(self.root.args[0]) if self.root.args else self.path.stem,
            cells=cells,
            voltage=self._voltage(),
            units=self.units,
            wire_load=self._wire_load(),
            source=str(self.path),
            slew_thresholds=self._thresholds(),
            templates=self.templates,
            temperature=self._temperature(),
        )

    def _units(self) -> Units:
        root = self.root
        try:
            time_text = _text(root.get("time_unit", "1ns"))
            leakage_text = _text(root.get("leakage_power_unit", "1nW"))
            voltage_text = _text(root.get("voltage_unit", "1V"))
            resistance_text = _text(root.get("pulling_resistance_unit", "1kohm"))
            cap = root.get("capacitive_load_unit", [1.0, "pf"])
            cap_value, cap_unit = float(cap[0]), _text(cap[1])
            return Units(
                time=parse_quantity(time_text, "s"),
                capacitance=cap_value * parse_quantity("1" + cap_unit, "f"),
                leakage=parse_quantity(leakage_text, "w"),
                voltage=parse_quantity(voltage_text, "v"),
                resistance=parse_quantity(resistance_text, "ohm"),
                time_text=time_text,
                capacitance_text=(cap_value, cap_unit),
                leakage_text=leakage_text,
                voltage_text=voltage_text,
                resistance_text=resistance_text,
            )
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise LibraryError(f"{self.path}: unreadable unit declaration {exc}") from None

    def _voltage(self) -> float:
        if self.root.get("nom_voltage") is not None:
            return float(self.root["nom_voltage"]) * self.units.voltage
        for group in self.root.get_groups("operating_conditions"):
            if group.get("voltage") is not None:
                return float(group["voltage"]) * self.units.voltage
        raise LibraryError(f"{self.path}: no nom_voltage and no operating_conditions voltage")

    def _thresholds(self) -> tuple[float, float, float, float]:
        """Delay and slew thresholds (rise values) as fractions, and the slew derate; Liberty's defaults if absent."""
        root = self.root
        try:
            return (
                float(root.get("output_threshold_pct_rise", 50.0)) / 100,
                float(root.get("slew_lower_threshold_pct_rise", 20.0)) / 100,
                float(root.get("slew_upper_threshold_pct_rise", 80.0)) / 100,
                float(root.get("slew_derate_from_library", 1.0)),
            )
        except (TypeError, ValueError) as exc:
            raise LibraryError(f"{self.path}: unreadable threshold attribute: {exc}") from None

    def _temperature(self) -> float | None:
        if self.root.get("nom_temperature") is not None:
            return float(self.root["nom_temperature"])
        for group in self.root.get_groups("operating_conditions"):
            if group.get("temperature") is not None:
                return float(group["temperature"])
        return None

    def _wire_load(self) -> WireLoad | None:
        name = self.root.get("default_wire_load")
        if name is None:
            return None
        for group in self.root.get_groups("wire_load"):
            if group.args and _text(group.args[0]) == _text(name):
                # Liberty wire lengths are unitless; capacitance per length is in the capacitance unit.
                return WireLoad(
                    name=_text(name),
                    capacitance_per_length=float(group.get("capacitance", 0.0)) * self.units.capacitance,
                    slope=float(group.get("slope", 0.0)),
                    fanout_length=tuple((int(f), float(l)) for f, l in group.get_attributes("fanout_length")),
                    resistance_per_length=float(group.get("resistance", 0.0)) * self.units.resistance,
                )
        raise LibraryError(f"{self.path}: default_wire_load {_text(name)!r} is not defined")

    def _cell(self, group: Group) -> Cell:
        name = _text(group.args[0])
        inputs, outputs, extra, functions, capacitance = [], [], [], {}, {}
        edge_capacitance: dict[str, dict[str, float]] = {"rise_capacitance": {}, "fall_capacitance": {}}
        timing, power = [], []
        sequential = any(g.group_name in SEQUENTIAL_GROUPS for g in group.groups)
        register = self._register(name, group)
        state_names = {_text(a) for g in group.groups if g.group_name in SEQUENTIAL_GROUPS for a in g.args}
        for pin in group.groups:
            if pin.group_name == "pg_pin":
                extra.append(_text(pin.args[0]))
            if pin.group_name != "pin":
                continue
            pin_name = _text(pin.args[0])
            direction = _text(pin.get("direction", ""))
            if direction == "input":
                inputs.append(pin_name)
                capacitance[pin_name] = float(pin.get("capacitance", 0.0)) * self.units.capacitance
                for key, values in edge_capacitance.items():
                    if pin.get(key) is not None:
                        values[pin_name] = float(pin[key]) * self.units.capacitance
            elif direction in ("output", "inout"):
                outputs.append(pin_name)
                if pin.get("function") is not None:
                    functions[pin_name] = _text(pin["function"])
            else:
                extra.append(pin_name)
            timing.extend(self._timing(name, pin_name, pin))
            power.extend(self._power(name, pin_name, pin))
        known = set(inputs) | state_names
        for out, function in functions.items():
            try:
                unknown = function_variables(function) - known
            except LibraryError as exc:
                raise self.fail(name, f"pin {out}: {exc}") from None
            if unknown:
                raise self.fail(name, f"function of pin {out} names unknown pin(s) {', '.join(sorted(unknown))}")
        for arc in timing:
            if arc.related_pin not in inputs and arc.related_pin not in outputs:
                raise self.fail(name, f"timing arc of pin {arc.pin} names unknown related_pin {arc.related_pin}")
        try:
            area = float(group.get("area", 0.0))
            leakage = float(group.get("cell_leakage_power", 0.0)) * self.units.leakage
            transistors = group.get("transistors")
        except (TypeError, ValueError) as exc:
            raise self.fail(name, f"bad numeric attribute: {exc}") from None
        cell = Cell(
            name=name,
            area=area,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            functions=functions,
            capacitance=capacitance,
            timing=tuple(timing),
            power=tuple(power),
            leakage=leakage,
            leakage_states=self._leakage_states(name, group),
            transistors=int(transistors) if transistors is not None else None,
            sequential=sequential,
            extra_pins=tuple(extra),
            rise_capacitance=edge_capacitance["rise_capacitance"],
            fall_capacitance=edge_capacitance["fall_capacitance"],
            register=register,
        )
        if not sequential:
            self._check_conditions(cell)
        if cell.transistors is None:
            cell = replace(cell, transistors=transistor_count(cell))
        return cell

    def _register(self, cell: str, group: Group) -> Register | None:
        """The cell's single `ff` or `latch` group; None for combinational cells, banks, state tables and
        groups without their clock and data functions."""
        found = [g for g in group.groups if g.group_name in ("ff", "latch")]
        if len(found) != 1:
            return None
        g = found[0]
        names = tuple(_text(a) for a in g.args)
        if len(names) != 2:
            raise self.fail(cell, f"{g.group_name} group must name two state variables, got {len(names)}")
        clock, data = ("clocked_on", "next_state") if g.group_name == "ff" else ("enable", "data_in")
        if g.get(clock) is None or g.get(data) is None:
            return None  # kept as an opaque sequential cell: readable, not simulated

        def text(key: str) -> str | None:
            value = g.get(key)
            return None if value is None else _text(value)

        return Register(
            g.group_name, names, text(clock), text(data), text("clear"), text("preset"),
            text("clear_preset_var1"), text("clear_preset_var2"),
        )

    def _timing(self, cell: str, pin_name: str, pin: Group) -> list[TimingArc]:
        arcs = []
        for t in pin.get_groups("timing"):
            timing_type = _text(t.get("timing_type", "combinational"))
            if timing_type not in TIMING_TYPES:
                continue
            tables = {kind: self._table(cell, t, kind, self.units.time) for kind in DELAY_TABLES + CONSTRAINT_TABLES}
            sense = _text(t.get("timing_sense", "non_unate"))
            for related in _text(t.get("related_pin", "")).split():
                arcs.append(TimingArc(related, pin_name, sense, timing_type=timing_type, **tables))
        return arcs

    def _power(self, cell: str, pin_name: str, pin: Group) -> list[PowerArc]:
        arcs = []
        for p in pin.get_groups("internal_power"):
            rise = self._table(cell, p, "rise_power", self.units.energy)
            fall = self._table(cell, p, "fall_power", self.units.energy)
            if rise is None and fall is None:
                rise = fall = self._table(cell, p, "power", self.units.energy)
            related = _text(p.get("related_pin", "")).split() or [""]
            when = _text(p.get("when", ""))
            arcs.extend(PowerArc(pin_name, r, rise, fall, when) for r in related)
        return arcs

    def _leakage_states(self, cell: str, group: Group) -> tuple[LeakageState, ...]:
        states = []
        for leak in group.get_groups("leakage_power"):
            try:
                power = float(leak.get("value", 0.0)) * self.units.leakage
            except (TypeError, ValueError) as exc:
                raise self.fail(cell, f"leakage_power has a bad value: {exc}") from None
            states.append(LeakageState(_text(leak.get("when", "")), power))
        return tuple(states)

    def _check_conditions(self, cell: Cell) -> None:
        """Every `when` must name only pins of the cell; outputs stand for their functions."""
        known = set(cell.inputs) | set(cell.functions)
        conditions = [("internal_power of pin " + a.pin, a.when) for a in cell.power if a.when]
        conditions += [("leakage_power", s.when) for s in cell.leakage_states if s.when]
        for where, when in conditions:
            try:
                unknown = function_variables(when) - known
            except LibraryError as exc:
                raise self.fail(cell.name, f"{where}: when {exc}") from None
            if unknown:
                raise self.fail(cell.name, f"{where}: when {when!r} names unknown pin(s) {', '.join(sorted(unknown))}")

    def _table(self, cell: str, group: Group, kind: str, scale: float) -> Table | None:
        found = group.get_groups(kind)
        if not found:
            return None
        table = found[0]
        template = _text(table.args[0]) if table.args else "scalar"
        variables = () if template == "scalar" else self.templates.get(template)
        if variables is None:
            raise self.fail(cell, f"{kind} table uses undefined template {template!r}")
        axes = []
        for i, variable in enumerate(variables, start=1):
            axis = table.get_attributes(f"index_{i}") or self._template_index(template, i)
            axes.append(tuple(float(v) * self._axis_scale(variable) for v in _numbers(axis)))
        try:
            values = [tuple(float(v) * scale for v in _numbers([row])) for row in table.get_attributes("values")]
            if len(values) == 1 and len(axes) == 2 and len(values[0]) == len(axes[0]) * len(axes[1]):
                width = len(axes[1])
                values = [values[0][i : i + width] for i in range(0, len(values[0]), width)]
        except ValueError as exc:
            raise self.fail(cell, f"{kind} table has a non-numeric value: {exc}") from None
        shape_ok = (len(axes) == 0 and len(values) == 1) or (
            len(axes) >= 1 and len(values) == len(axes[0]) and all(len(r) == (len(axes[1]) if len(axes) > 1 else 1) for r in values)
        ) or (len(axes) == 1 and len(values) == 1 and len(values[0]) == len(axes[0]))
        if not shape_ok:
            raise self.fail(cell, f"{kind} table values do not match its index sizes")
        if len(axes) == 1 and len(values) == 1:
            values = [(v,) for v in values[0]]
        return Table(
            template=template,
            variables=tuple(variables),
            index_1=axes[0] if axes else (),
            index_2=axes[1] if len(axes) > 1 else (),
            values=tuple(tuple(r) for r in values),
        )

    def _template_index(self, template: str, i: int) -> list:
        for g in self.root.groups:
            if g.group_name in ("lu_table_template", "power_lut_template") and g.args and _text(g.args[0]) == template:
                return g.get_attributes(f"index_{i}")
        return []

    def _axis_scale(self, variable: str) -> float:
        return self.units.capacitance if "capacitance" in variable else self.units.time


def _numbers(attribute_values: list) -> list[float]:
    """Flatten Liberty "1, 2, 3" strings (or lists of them) into floats."""
    out: list[float] = []
    for value in attribute_values:
        items = value if isinstance(value, list) else [value]
        for item in items:
            out.extend(float(x) for x in str(item).strip('"').replace(",", " ").split())
    return out

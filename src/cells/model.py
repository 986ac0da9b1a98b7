"""The standard-cell library model: cells, pins, timing and power arcs, in SI units."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

from cells.errors import LibraryError
from cells.functions import function_variables, truth_table
from cells.tables import Table


@dataclass(frozen=True)
class TimingArc:
    """Delay and output transition from one input pin to one output pin (NLDM), or a timing check.

    `timing_type` is Liberty's: "combinational", "rising_edge"/"falling_edge" (clock to
    output of a register), or a check on a data pin ("setup_rising", "hold_rising", ...)
    whose limits are the `rise_constraint`/`fall_constraint` tables (s) over the related
    (clock) pin's and the constrained pin's transitions.
    """

    related_pin: str
    pin: str
    timing_sense: str
    cell_rise: Table | None
    cell_fall: Table | None
    rise_transition: Table | None
    fall_transition: Table | None
    timing_type: str = "combinational"
    rise_constraint: Table | None = None
    fall_constraint: Table | None = None


@dataclass(frozen=True)
class Register:
    """A Liberty `ff` or `latch` group: the state variables and the functions that drive them.

    For an ff, `clock` is `clocked_on` and `data` is `next_state`; for a latch, `enable`
    and `data_in`. `clear`/`preset` are asynchronous, active when their function is 1;
    `clear_preset_var1`/`2` give the state ("L", "H", "N", "T", "X") when both are.
    """

    kind: str
    state: tuple[str, str]
    clock: str
    data: str
    clear: str | None = None
    preset: str | None = None
    clear_preset_var1: str | None = None
    clear_preset_var2: str | None = None


@dataclass(frozen=True)
class PowerArc:
    """Internal energy (J) per output or input transition (Liberty `internal_power`).

    `related_pin` is the input whose change causes an output transition (empty for
    input pins); `when` the Liberty condition under which the tables hold (empty: always).
    """

    pin: str
    related_pin: str
    rise_energy: Table | None
    fall_energy: Table | None
    when: str = ""


@dataclass(frozen=True)
class LeakageState:
    """Leakage power (W) while the Liberty condition `when` holds (empty: in every state)."""

    when: str
    power: float


@dataclass(frozen=True)
class Cell:
    """One library cell.

    `functions` maps each output pin to its Liberty function string; a
    sequential or physical-only cell has `sequential` set or no outputs and is
    kept so that netlists using it can be read, but it cannot be simulated.
    `leakage` (W) is `cell_leakage_power`, `leakage_states` the state-dependent
    `leakage_power` groups.
    """

    name: str
    area: float
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    functions: dict[str, str]
    capacitance: dict[str, float]
    timing: tuple[TimingArc, ...] = ()
    power: tuple[PowerArc, ...] = ()
    leakage: float = 0.0
    leakage_states: tuple[LeakageState, ...] = ()
    transistors: int | None = None
    sequential: bool = False
    extra_pins: tuple[str, ...] = ()
    rise_capacitance: dict[str, float] = field(default_factory=dict)
    fall_capacitance: dict[str, float] = field(default_factory=dict)
    register: Register | None = None

    @cached_property
    def truth_tables(self) -> tuple[int, ...]:
        """Truth table of each output over `inputs` (see cells.functions)."""
        if self.sequential or any(out not in self.functions for out in self.outputs):
            raise LibraryError(f"cell {self.name} has no combinational function for every output")
        return tuple(truth_table(self.functions[out], self.inputs) for out in self.outputs)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the cell's whole description (the `repr` of every field, each table value included): what is
        computed from a cell can be cached under it. A loaded library brings it computed (`cells.default`)."""
        return hashlib.sha256(repr(self).encode()).hexdigest()

    @property
    def combinational(self) -> bool:
        return not self.sequential and bool(self.outputs) and all(o in self.functions for o in self.outputs)

    @property
    def unsupported(self) -> str | None:
        """Why the cell can be neither simulated nor timed, as words after its name; None if it can be."""
        if self.combinational or self.register is not None or self.physical_only:
            return None
        if self.sequential:
            return "has a memory, state table or register bank group rather than one ff or latch group"
        missing = next(o for o in self.outputs if o not in self.functions)
        return f"has no function for output pin {missing} (a macro)"

    @property
    def physical_only(self) -> bool:
        """A cell without logic outputs (tap, fill, decap, antenna diode): it takes area, never switches."""
        return not self.outputs

    @property
    def pins(self) -> tuple[str, ...]:
        return self.inputs + self.outputs + self.extra_pins

    def arcs_to(self, pin: str) -> tuple[TimingArc, ...]:
        """The combinational arcs to `pin` (checks and clock-to-output arcs excluded)."""
        return tuple(a for a in self.timing if a.pin == pin and a.timing_type.startswith("combinational"))

    def delay_arcs_to(self, pin: str) -> tuple[TimingArc, ...]:
        """Every arc with a delay to `pin`: combinational, clock-to-output (`rising_edge`, `falling_edge`) and
        asynchronous clear or preset; checks (setup, hold, pulse width) have none."""
        return tuple(a for a in self.timing if a.pin == pin and (a.cell_rise is not None or a.cell_fall is not None))

    def checks(self, pin: str, kind: str) -> tuple[TimingArc, ...]:
        """The `setup_*` or `hold_*` (`kind`) checks on input `pin`."""
        return tuple(a for a in self.timing if a.pin == pin and a.timing_type.startswith(kind + "_"))

    @cached_property
    def data_pins(self) -> tuple[str, ...]:
        """The inputs in a register's next-state (ff) or data (latch) function; none for other cells."""
        if self.register is None:
            return ()
        return tuple(p for p in self.inputs if p in function_variables(self.register.data))

    @cached_property
    def clock_pins(self) -> tuple[str, ...]:
        """The inputs in a register's clock (ff) or enable (latch) function; none for other cells."""
        if self.register is None:
            return ()
        return tuple(p for p in self.inputs if p in function_variables(self.register.clock))

    def pin_capacitance(self, pin: str, rising: bool) -> float:
        """Input capacitance (F) of `pin` for a rising or falling transition: Liberty's rise_ or
        fall_capacitance where given, else its capacitance."""
        edge = self.rise_capacitance if rising else self.fall_capacitance
        return edge.get(pin, self.capacitance.get(pin, 0.0))

    @cached_property
    def leakage_by_state(self) -> tuple[float, ...]:
        """Leakage power (W) in each input state (index i: input j is bit j of i).

        The `leakage_power` groups whose `when` holds in the state add up; where none
        holds, the unconditional groups, or else `cell_leakage_power`, apply.
        """
        unconditional = [s.power for s in self.leakage_states if not s.when]
        default = sum(unconditional) if unconditional else self.leakage
        conditions = [(self.condition_table(s.when), s.power) for s in self.leakage_states if s.when]
        states = []
        for i in range(1 << len(self.inputs)):
            holding = [power for table, power in conditions if (table >> i) & 1]
            states.append(sum(holding) if holding else default)
        return tuple(states)

    @cached_property
    def power_conditions(self) -> tuple[int, ...]:
        """Truth table of each power arc's `when` over `inputs` (every state when it has none)."""
        always = (1 << (1 << len(self.inputs))) - 1
        return tuple(self.condition_table(a.when) if a.when else always for a in self.power)

    def condition_table(self, when: str) -> int:
        """Truth table over `inputs` of a Liberty condition; output pins in it stand for their functions."""
        return truth_table(when, self.inputs, {out: self.functions[out] for out in self.outputs if out in self.functions})


@dataclass(frozen=True)
class WireLoad:
    """Liberty wire-load model: net capacitance and resistance from fanout via an estimated length."""

    name: str
    capacitance_per_length: float
    slope: float
    fanout_length: tuple[tuple[int, float], ...]
    resistance_per_length: float = 0.0

    def length(self, fanout: int) -> float:
        """Estimated wire length of a net with `fanout` sinks (none without sinks), as OpenSTA estimates it:
        table entries interpolated, extrapolated with `slope` beyond the first and the last."""
        entries = sorted(self.fanout_length)
        if fanout <= 0 or not entries:
            return 0.0
        first, last = entries[0], entries[-1]
        if fanout < first[0]:
            return max(first[1] - (first[0] - fanout) * self.slope, 0.0)
        if fanout >= last[0]:
            return last[1] + (fanout - last[0]) * self.slope
        for (f1, l1), (f2, l2) in pairwise(entries):
            if f1 <= fanout < f2:
                return l1 + (l2 - l1) * (fanout - f1) / (f2 - f1)
        return first[1]

    def capacitance(self, fanout: int) -> float:
        """Estimated wire capacitance (F) of a net with `fanout` sinks."""
        return self.length(fanout) * self.capacitance_per_length

    def resistance(self, fanout: int) -> float:
        """Estimated wire resistance (ohm) of a net with `fanout` sinks."""
        return self.length(fanout) * self.resistance_per_length


@dataclass(frozen=True)
class Units:
    """Scale factors from the library's units to SI, and the unit strings for writing."""

    time: float = 1e-9
    capacitance: float = 1e-12
    leakage: float = 1e-9
    voltage: float = 1.0
    resistance: float = 1e3
    time_text: str = "1ns"
    capacitance_text: tuple[float, str] = (1.0, "pf")
    leakage_text: str = "1nW"
    voltage_text: str = "1V"
    resistance_text: str = "1kohm"

    @property
    def energy(self) -> float:
        """Internal-power tables are energies in capacitance unit × voltage unit squared."""
        return self.capacitance * self.voltage**2


@dataclass(frozen=True)
class Library:
    """A standard-cell library: cells by name plus the library-wide data.

    `voltage` (V) and `temperature` (°C, None when the file gives none) are the nominal corner.
    """

    name: str
    cells: dict[str, Cell]
    voltage: float
    units: Units = field(default_factory=Units)
    wire_load: WireLoad | None = None
    source: str = ""
    templates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    slew_thresholds: tuple[float, float, float, float] = (0.5, 0.2, 0.8, 1.0)
    """Output delay threshold, lower and upper slew thresholds (fractions of the supply), slew derate."""
    temperature: float | None = None

    def cell(self, name: str) -> Cell:
        try:
            return self.cells[name]
        except KeyError:
            raise LibraryError(f"{self.source or self.name}: no cell named {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.cells

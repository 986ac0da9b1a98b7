"""Study files: TOML read with tomllib, validated once, into frozen dataclasses.

Every error names the file, the key path and the reason, e.g.
`study.toml: study.trials: expected a positive integer, got -3`.

Layout of a study file::

    [study]                       # name, kind; trials (50), seed (0), device ("cpu"), storage (URL)
    [sampler]                     # name = nsga2 | nsga3 | tpe | random | grid; population; startup_trials; grid
    [objectives]                  # objective = "maximize" | "minimize"; default: all of the kind's
    [[constraints]]               # metric = "...", max = x  (or min = x)
    [lut]                         # path = "lut.csv" (relative to the study file), or an inline characterization:
                                  #   bits (required), signed, arch, adder, mode, vectors, seed, jobs, library, weights;
                                  #   missing = "error" | "nearest": a weight the LUT lacks fails, or takes the nearest
    [data] [model]                # free tables for the kind
    [space]                       # the kind's search space, validated by the kind
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from characterize.choices import MODES
from characterize.generators import ADDERS, ARCHITECTURES, operand_range
from dse.errors import ConfigError
from dse.kinds import DIRECTIONS, Objective
from dse.kinds import kind as find_kind
from dse.storage import resolve_storage_url

__all__ = ["ConfigError", "Constraint", "LutSource", "SamplerConfig", "StudyConfig", "load_study_config", "SAMPLERS"]

SAMPLERS = ("nsga2", "nsga3", "tpe", "random", "grid")
TOP_KEYS = ("study", "sampler", "objectives", "constraints", "lut", "data", "model", "space")
STUDY_KEYS = ("name", "kind", "trials", "seed", "device", "storage")
SAMPLER_KEYS = ("name", "population", "startup_trials", "grid")
INLINE_LUT_KEYS = ("bits", "signed", "arch", "adder", "mode", "vectors", "seed", "jobs", "library", "weights")
DEVICE_PATTERN = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")


@dataclass(frozen=True)
class Constraint:
    """A bound on a metric the kind reports: feasible when `violation(value) <= 0`."""

    metric: str
    bound: float
    upper: bool

    @property
    def key(self) -> str:
        """Name of the constraint in Optuna's trial constraints, e.g. "accuracy_drop:max"."""
        return f"{self.metric}:{'max' if self.upper else 'min'}"

    def violation(self, value: float) -> float:
        return value - self.bound if self.upper else self.bound - value


@dataclass(frozen=True)
class SamplerConfig:
    """Which Optuna sampler to build and its few options."""

    name: str = "nsga2"
    population: int | None = None
    startup_trials: int | None = None
    grid: dict[str, list] | None = None


@dataclass(frozen=True)
class LutSource:
    """Where the LUT comes from: a CSV path, or the settings of an inline characterization sweep."""

    path: Path | None = None
    inline: dict | None = None
    missing: str = "error"


@dataclass(frozen=True)
class StudyConfig:
    """A validated study file."""

    path: Path
    name: str
    kind: str
    trials: int
    seed: int
    device: str
    storage: str | None
    sampler: SamplerConfig
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    lut: LutSource
    data: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    space: dict = field(default_factory=dict)
    text: str = ""


def load_study_config(path: str | Path) -> StudyConfig:
    """Read and validate a study file; ConfigError names the file, key path and reason."""
    path = Path(path)
    check = _Checker(str(path))
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such study file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    check.keys(document, "", TOP_KEYS, required=("study", "lut"))
    study = check.table(document, "study", STUDY_KEYS, required=("name", "kind"))
    name = check.string(study, "study.name")
    kind_name = check.string(study, "study.kind")
    try:
        kind_cls = find_kind(kind_name)
    except ConfigError as exc:
        raise check.error("study.kind", str(exc)) from None
    device = check.string(study, "study.device", "cpu")
    if not DEVICE_PATTERN.match(device):
        raise check.error("study.device", f"expected cpu, cuda, cuda:N or mps, got {device!r}")
    storage = study.get("storage")
    if storage is not None:
        storage = resolve_storage_url(check.string(study, "study.storage"), path.parent)
    space = kind_cls.validate(check.table(document, "space", None), f"{path}: space")
    return StudyConfig(
        path=path,
        name=name,
        kind=kind_name,
        trials=check.integer(study, "study.trials", 50, minimum=1, what="a positive integer"),
        seed=check.integer(study, "study.seed", 0, minimum=0, what="a non-negative integer"),
        device=device,
        storage=storage,
        sampler=_sampler(check, document, kind_cls, space),
        objectives=_objectives(check, document, kind_cls),
        constraints=_constraints(check, document),
        lut=_lut(check, document, path.parent),
        data=check.table(document, "data", None),
        model=check.table(document, "model", None),
        space=space,
        text=text,
    )


def _sampler(check: _Checker, document: dict, kind_cls, space: dict) -> SamplerConfig:
    table = check.table(document, "sampler", SAMPLER_KEYS)
    name = check.string(table, "sampler.name", "nsga2")
    if name not in SAMPLERS:
        raise check.error("sampler.name", f"expected one of {', '.join(SAMPLERS)}, got {name!r}")
    only = {"population": ("nsga2", "nsga3"), "startup_trials": ("tpe",), "grid": ("grid",)}
    for key, samplers in only.items():
        if key in table and name not in samplers:
            raise check.error(f"sampler.{key}", f"only for the {' and '.join(samplers)} sampler, not {name}")
    population = check.integer(table, "sampler.population", None, minimum=2, what="an integer >= 2")
    startup = check.integer(table, "sampler.startup_trials", None, minimum=0, what="a non-negative integer")
    grid = None
    if name == "grid":
        if "grid" in table:
            grid = _grid(check, table["grid"])
        else:
            grid = kind_cls.grid_space(space)
            if grid is None:
                raise check.error(
                    "sampler.grid",
                    f"the grid sampler needs a discrete search space; kind {kind_cls.name!r} has none, "
                    "so give one as [sampler] grid = {param = [values, ...]}",
                )
    return SamplerConfig(name, population, startup, grid)


def _grid(check: _Checker, grid: Any) -> dict[str, list]:
    if not isinstance(grid, dict) or not grid:
        raise check.error("sampler.grid", f"expected a table of parameter = [values], got {_show(grid)}")
    for param, values in grid.items():
        if not isinstance(values, list) or not values:
            raise check.error(f"sampler.grid.{param}", f"expected a non-empty list of values, got {_show(values)}")
        for i, value in enumerate(values):
            if not isinstance(value, (str, int, float, bool)):
                raise check.error(
                    f"sampler.grid.{param}[{i}]", f"expected a number, string or boolean, got {_show(value)}"
                )
    return {param: list(values) for param, values in grid.items()}


def _objectives(check: _Checker, document: dict, kind_cls) -> tuple[Objective, ...]:
    if "objectives" not in document:
        return tuple(kind_cls.objectives)
    table = check.table(document, "objectives", None)
    if not table:
        raise check.error("objectives", "expected at least one objective")
    known = {o.name: o for o in kind_cls.objectives}
    chosen = []
    for name, direction in table.items():
        where = f"objectives.{name}"
        if name not in known:
            raise check.error(where, f"kind {kind_cls.name!r} has no objective {name!r} (it has: {', '.join(known)})")
        if direction not in DIRECTIONS:
            raise check.error(where, f"expected 'maximize' or 'minimize', got {_show(direction)}")
        if direction != known[name].direction:
            expected = known[name].direction
            raise check.error(where, f"kind {kind_cls.name!r} can only {expected} {name}, got {direction!r}")
        chosen.append(known[name])
    return tuple(chosen)


def _constraints(check: _Checker, document: dict) -> tuple[Constraint, ...]:
    entries = document.get("constraints", [])
    if not isinstance(entries, list):
        raise check.error("constraints", f"expected a list of {{ metric = ..., max = ... }}, got {_show(entries)}")
    constraints = []
    for i, entry in enumerate(entries):
        where = f"constraints[{i}]"
        if not isinstance(entry, dict):
            raise check.error(where, f"expected a table {{ metric = ..., max = ... }}, got {_show(entry)}")
        check.keys(entry, where, ("metric", "max", "min"), required=("metric",))
        metric = check.string(entry, f"{where}.metric")
        bounds = [key for key in ("max", "min") if key in entry]
        if len(bounds) != 1:
            raise check.error(where, "give exactly one of max or min")
        bound = check.number(entry, f"{where}.{bounds[0]}")
        constraints.append(Constraint(metric, bound, bounds[0] == "max"))
    return tuple(constraints)


def _lut(check: _Checker, document: dict, base: Path) -> LutSource:
    from characterize.lut.table import MISSING_POLICIES

    table = check.table(document, "lut", ("path", *INLINE_LUT_KEYS, "missing"))
    missing = check.choice(table, "lut.missing", MISSING_POLICIES, "error")
    if "path" in table:
        extra = [key for key in table if key not in ("path", "missing")]
        if extra:
            raise check.error(f"lut.{extra[0]}", "give either path or an inline characterization, not both")
        return LutSource(path=base / check.string(table, "lut.path"), missing=missing)
    if "bits" not in table:
        raise check.error("lut", 'give path = "lut.csv" or an inline characterization (bits = 8, ...)')
    bits = check.integer(table, "lut.bits", ..., minimum=2, what="an integer from 2 to 16")
    if bits > 16:
        raise check.error("lut.bits", f"expected an integer from 2 to 16, got {bits}")
    inline = {
        "bits": bits,
        "signed": check.boolean(table, "lut.signed", True),
        "arch": check.choice(table, "lut.arch", ARCHITECTURES, "array"),
        "adder": check.choice(table, "lut.adder", ADDERS, "ripple"),
        "mode": check.choice(table, "lut.mode", MODES, "stationary"),
        "vectors": check.integer(table, "lut.vectors", 10_000, minimum=1, what="a positive integer"),
        "seed": check.integer(table, "lut.seed", 0, minimum=0, what="a non-negative integer"),
        "jobs": check.integer(table, "lut.jobs", 1, minimum=1, what="a positive integer"),
        "library": None if "library" not in table else base / check.string(table, "lut.library"),
    }
    values = operand_range(bits, inline["signed"])
    low, high = values[0], values[-1]
    weights = table.get("weights", list(range(low, high + 1)))
    if not isinstance(weights, list) or not weights:
        raise check.error("lut.weights", f"expected a non-empty list of integers, got {_show(weights)}")
    for i, weight in enumerate(weights):
        if isinstance(weight, bool) or not isinstance(weight, int) or not low <= weight <= high:
            raise check.error(f"lut.weights[{i}]", f"expected an integer from {low} to {high}, got {_show(weight)}")
    inline["weights"] = tuple(weights)
    return LutSource(inline=inline, missing=missing)


def _show(value: Any) -> str:
    """A value as the user wrote it, with its TOML type for non-scalars."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value) if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


class _Checker:
    """Typed reads from parsed TOML tables; every failure becomes a ConfigError naming file and key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.file}: {key}: {reason}" if key else f"{self.file}: {reason}")

    def keys(self, table: dict, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
        prefix = f"{where}." if where else ""
        for key in table:
            if key not in allowed:
                raise self.error(f"{prefix}{key}", f"unknown key (expected one of: {', '.join(allowed)})")
        for key in required:
            if key not in table:
                raise self.error(f"{prefix}{key}", "missing (required)")

    def table(self, parent: dict, key: str, allowed: tuple[str, ...] | None, required: tuple[str, ...] = ()) -> dict:
        value = parent.get(key, {})
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {_show(value)}")
        if allowed is not None:
            self.keys(value, key, allowed, required)
        return value

    def string(self, table: dict, path: str, default: Any = ...) -> Any:
        value = self._get(table, path, default)
        if value is not default and (not isinstance(value, str) or not value):
            raise self.error(path, f"expected a non-empty string, got {_show(value)}")
        return value

    def boolean(self, table: dict, path: str, default: Any = ...) -> Any:
        value = self._get(table, path, default)
        if value is not default and not isinstance(value, bool):
            raise self.error(path, f"expected true or false, got {_show(value)}")
        return value

    def choice(self, table: dict, path: str, choices: tuple[str, ...], default: str) -> str:
        value = self._get(table, path, default)
        if value not in choices:
            raise self.error(path, f"expected one of {', '.join(choices)}, got {_show(value)}")
        return value

    def number(self, table: dict, path: str, default: Any = ...) -> Any:
        value = self._get(table, path, default)
        if value is not default and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise self.error(path, f"expected a number, got {_show(value)}")
        return value if value is default else float(value)

    def integer(self, table: dict, path: str, default: Any, minimum: int, what: str) -> Any:
        value = self._get(table, path, default)
        if value is not default and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
            raise self.error(path, f"expected {what}, got {_show(value)}")
        return value

    def _get(self, table: dict, path: str, default: Any) -> Any:
        key = path.rsplit(".", 1)[-1]
        if key in table:
            return table[key]
        if default is ...:
            raise self.error(path, "missing (required)")
        return default

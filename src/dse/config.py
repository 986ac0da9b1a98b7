"""Study files: TOML read with tomllib, validated once, into frozen dataclasses.

Every error names the file, the key path and the reason, e.g.
`study.toml: study.trials: expected a positive integer, got -3`.

Layout of a study file::

    [study]                       # name, kind; trials (50), seed (0), device ("cpu"), storage (URL), cache (folder)
    [sampler]                     # name = nsga2 | nsga3 | tpe | random | grid; population; startup_trials; grid
    [objectives]                  # objective = "maximize" | "minimize"; default: all of the kind's
    [[constraints]]               # metric = "...", max = x  (or min = x)
    [lut]                         # path = "lut.csv" (relative to the study file), or an inline characterization:
                                  #   bits (required), signed, arch, adder, mode, vectors, seed, jobs, library, weights;
                                  #   missing = "error" | "nearest": a weight the LUT lacks fails, or takes the nearest
                                  #   activations = "uniform" | "per-layer" (inline only): energy per layer from
                                  #   the multiplier characterized with the layer's recorded activation stream
    [cost]                        # zero_skip (false), gated_energy_fJ (0): what a MAC with a zero operand costs
    [data] [model]                # the kind's tables, checked by the schemas the kind declares (`StudyKind.tables`)
    [space]                       # the kind's search space, checked by the kind (`StudyKind.validate`)

Every table is checked by a `dse.schema.Section` when the file is loaded, before
any storage is opened or a LUT characterized.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from characterize.choices import MODES
from characterize.generators import ADDERS, ARCHITECTURES, operand_range
from characterize.lut.table import MISSING_POLICIES
from dse.errors import ConfigError
from dse.kinds import DIRECTIONS, Objective
from dse.kinds import kind as find_kind
from dse.schema import (
    REQUIRED,
    Field,
    Invalid,
    Section,
    When,
    anchor_path,
    boolean,
    close_match,
    file_path,
    integer,
    list_of,
    number,
    one_of,
    reject_unknown,
    show,
    table,
    text,
)
from dse.storage_urls import resolve_storage_url

__all__ = ["SAMPLERS", "ConfigError", "Constraint", "LutSource", "SamplerConfig", "StudyConfig", "load_study_config"]

SAMPLERS = ("nsga2", "nsga3", "tpe", "random", "grid")
KIND_TABLES = ("data", "model")
DEVICE_PATTERN = re.compile(r"^(cpu|cuda(:\d+)?|mps|auto)$")
CUDA_INSTALL = "pip install torch --index-url https://download.pytorch.org/whl/cu126"


def _device(value: Any) -> str:
    """cpu, cuda, cuda:N, mps, or auto (the first of cuda and mps that is available, else cpu); an accelerator
    must be present, so a study never fails after its data has loaded."""
    if not isinstance(value, str) or not DEVICE_PATTERN.match(value):
        raise Invalid(f"expected cpu, cuda, cuda:N, mps or auto, got {show(value)}")
    if value == "cpu":
        return value
    import torch  # only for an accelerator: keeps loading a CPU study file light

    cuda = torch.cuda.is_available()
    mps = torch.backends.mps.is_available()
    if value == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if value == "mps" and not mps:
        raise Invalid("mps: this machine has no Apple GPU available to PyTorch; use \"cpu\" or \"auto\"")
    if value.startswith("cuda") and not cuda:
        build = f"this PyTorch {torch.__version__} has no CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
        raise Invalid(f"{value}: {build}; install a CUDA build ({CUDA_INSTALL}, see pytorch.org) "
                      "or use \"cpu\" or \"auto\"")
    if value.startswith("cuda:") and int(value[5:]) >= torch.cuda.device_count():
        raise Invalid(f"{value}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return value


DOCUMENT = Section({
    "study": Field(table, REQUIRED),
    "sampler": Field(table, {}),
    "objectives": Field(table, None),
    "constraints": Field(list_of(table, "tables { metric = ..., max = ... }", allow_empty=True), []),
    "lut": Field(table, REQUIRED),
    "cost": Field(table, {}),
    "data": Field(table, {}),
    "model": Field(table, {}),
    "space": Field(table, {}),
})
def _study_name(value: Any) -> str:
    """The study name also names the folder for the study's files, so it must stay one folder name."""
    name = text(value)
    if "/" in name or "\\" in name or ".." in name or name.startswith("."):
        raise Invalid(f"{name!r} names a folder for the study's files: no path separators, no '..', no leading '.'")
    return name


STUDY = Section({
    "name": Field(_study_name, REQUIRED),
    "kind": Field(text, REQUIRED),
    "trials": Field(integer(1), 50),
    "seed": Field(integer(0), 0),
    "device": Field(_device, "cpu"),
    "storage": Field(text, None, anchor=resolve_storage_url),
    "cache": Field(file_path(), None, anchor=anchor_path),
})
def _grid_values(grid: Any) -> dict[str, list]:
    """[sampler] grid: a table of parameter = [values]."""
    if not isinstance(grid, dict) or not grid:
        raise Invalid(f"expected a table of parameter = [values], got {show(grid)}")
    values = list_of(_grid_value, "values")
    result = {}
    for param, entries in grid.items():
        try:
            result[param] = values(entries)
        except Invalid as exc:
            raise Invalid(exc.reason, f".{param}{exc.path}") from None
    return result


def _grid_value(value: Any) -> Any:
    if not isinstance(value, (str, int, float, bool)):
        raise Invalid(f"expected a number, string or boolean, got {show(value)}")
    return value


SAMPLER = Section({
    "name": Field(one_of(SAMPLERS), "nsga2"),
    "population": Field(integer(2), None, When("name", ("nsga2", "nsga3"), "sampler")),
    "startup_trials": Field(integer(0), None, When("name", ("tpe",), "sampler")),
    "grid": Field(_grid_values, None, When("name", ("grid",), "sampler")),
})


def _one_bound(values: dict) -> None:
    if (values["max"] is None) == (values["min"] is None):
        raise Invalid("give exactly one of max or min")


CONSTRAINT = Section({"metric": Field(text, REQUIRED), "max": Field(number(), None), "min": Field(number(), None)},
                     rules=(_one_bound,))
def _lut_file_exists(values: dict) -> None:
    if not values["path"].is_file():
        raise Invalid(f"no such LUT file: {values['path']}", "path")


# What a cost model does with a weight the LUT has no row for (a sampled 16-bit LUT): fail naming it, or take the
# nearest characterized weight's row.
LUT_MISSING = Field(one_of(MISSING_POLICIES), "error")
# Which activations price the energy: the sweep's own (uniform), or each layer's recorded stream.
LUT_ACTIVATIONS = ("uniform", "per-layer")
LUT_FILE = Section({"path": Field(file_path(), REQUIRED, anchor=anchor_path), "missing": LUT_MISSING},
                   rules=(_lut_file_exists,))


def _weights_fit(values: dict) -> None:
    """Inline weights default to every value of the bit-width; given ones must fit it."""
    allowed = operand_range(values["bits"], values["signed"])
    low, high = allowed[0], allowed[-1]
    if values["weights"] is None:
        values["weights"] = tuple(allowed)
        return
    for i, weight in enumerate(values["weights"]):
        if not low <= weight <= high:
            raise Invalid(f"expected an integer from {low} to {high}, got {weight}", f"weights[{i}]")
    values["weights"] = tuple(values["weights"])


LUT_INLINE = Section({
    "bits": Field(integer(2, 16), REQUIRED),
    "signed": Field(boolean, True),
    "arch": Field(one_of(ARCHITECTURES), "array"),
    "adder": Field(one_of(ADDERS), "ripple"),
    "mode": Field(one_of(MODES), "stationary"),
    "vectors": Field(integer(1), 10_000),
    "seed": Field(integer(0), 0),
    "jobs": Field(integer(1), 1),
    "library": Field(file_path(), None, anchor=anchor_path),
    "weights": Field(list_of(integer(), "integers"), None),
    "missing": LUT_MISSING,
    "activations": Field(one_of(LUT_ACTIVATIONS), "uniform"),
}, rules=(_weights_fit,))

# [cost]: with zero_skip, a MAC whose weight or activation is zero costs gated_energy_fJ (see dse.costmodel.CostModel).
COST = Section({"zero_skip": Field(boolean, False), "gated_energy_fJ": Field(number(0.0), 0.0)})


@dataclass(frozen=True)
class Constraint:
    """A bound on a metric the kind reports: feasible when `violation(value) <= 0`."""

    metric: str
    bound: float
    upper: bool

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
    """Where the LUT comes from: a CSV path, or the settings of an inline characterization sweep (with
    `activations`: "uniform", or "per-layer" for one more sweep per layer with that layer's activations)."""

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
    cache: Path | None = None
    cost: dict = field(default_factory=lambda: COST.check({}))
    data: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    space: dict = field(default_factory=dict)
    text: str = ""


def load_study_config(path: str | Path) -> StudyConfig:
    """Read and validate a study file, every table of it; ConfigError names the file, key path and reason.

    Nothing is written and no LUT is characterized here, so a bad file fails before any storage is touched.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such study file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if raw.startswith(b"SQLite format 3\0"):
        raise ConfigError(f"{path}: an SQLite storage, not a study file; name it with --storage sqlite:///{path}")
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a study file (TOML text): {exc}") from None
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    document = DOCUMENT.validate(parsed, f"{path}: ")
    base = path.parent
    study = STUDY.validate(document["study"], f"{path}: study", base)
    try:
        kind_cls = find_kind(study["kind"])
    except ConfigError as exc:
        raise ConfigError(f"{path}: study.kind: {exc}") from None
    tables = {}
    for name in KIND_TABLES:
        schema = kind_cls.tables.get(name)
        if schema is not None:
            tables[name] = schema.validate(document[name], f"{path}: {name}", base)
        elif document[name]:
            raise ConfigError(f"{path}: {name}: kind {kind_cls.name!r} reads no [{name}] table")
        else:
            tables[name] = {}
    space = kind_cls.validate(document["space"], f"{path}: space")
    lut = _lut(document["lut"], f"{path}: lut", base)
    if not kind_cls.layer_costs:
        if document["cost"]:
            raise ConfigError(f"{path}: cost: kind {kind_cls.name!r} reads no [cost] table")
        if lut.inline is not None and lut.inline["activations"] != "uniform":
            raise ConfigError(f"{path}: lut.activations: kind {kind_cls.name!r} prices every layer with the "
                              "study's LUT; per-layer activations do not apply to it")
    return StudyConfig(
        path=path,
        name=study["name"],
        kind=study["kind"],
        trials=study["trials"],
        seed=study["seed"],
        device=study["device"],
        storage=study["storage"],
        cache=study["cache"],
        sampler=_sampler(document["sampler"], f"{path}: sampler", kind_cls, space),
        objectives=_objectives(document["objectives"], f"{path}: objectives", kind_cls),
        constraints=tuple(_constraint(entry, f"{path}: constraints[{i}]")
                          for i, entry in enumerate(document["constraints"])),
        lut=lut,
        cost=COST.validate(document["cost"], f"{path}: cost"),
        data=tables["data"],
        model=tables["model"],
        space=space,
        text=text,
    )


def _sampler(table: dict, where: str, kind_cls, space: dict) -> SamplerConfig:
    sampler = SAMPLER.validate(table, where)
    grid = sampler.get("grid")
    if grid is None and sampler["name"] == "grid":
        grid = kind_cls.grid_space(space)
        if grid is None:
            raise ConfigError(
                f"{where}.grid: the grid sampler needs a discrete search space; kind {kind_cls.name!r} has none, "
                "so give one as [sampler] grid = {param = [values, ...]}"
            )
    return SamplerConfig(sampler["name"], sampler.get("population"), sampler.get("startup_trials"), grid)


def _objectives(table: dict | None, where: str, kind_cls) -> tuple[Objective, ...]:
    """The objectives the file chooses (in file order) among the kind's, in their fixed directions."""
    if table is None:
        return tuple(kind_cls.objectives)
    if not table:
        raise ConfigError(f"{where}: expected at least one objective")
    known = {o.name: o for o in kind_cls.objectives}
    chosen = []
    for name, direction in table.items():
        if name not in known:
            close = close_match(name, known)
            hint = f"; did you mean {close!r}?" if close else ""
            raise ConfigError(f"{where}.{name}: kind {kind_cls.name!r} has no objective {name!r}{hint} "
                              f"(it has: {', '.join(known)})")
        if direction not in DIRECTIONS:
            raise ConfigError(f"{where}.{name}: expected 'maximize' or 'minimize', got {show(direction)}")
        if direction != known[name].direction:
            raise ConfigError(f"{where}.{name}: kind {kind_cls.name!r} can only {known[name].direction} {name}, "
                              f"got {direction!r}")
        chosen.append(known[name])
    return tuple(chosen)


def _constraint(entry: dict, where: str) -> Constraint:
    values = CONSTRAINT.validate(entry, where)
    upper = values["max"] is not None
    return Constraint(values["metric"], values["max"] if upper else values["min"], upper)


def _lut(table: dict, where: str, base: Path) -> LutSource:
    """A LUT file, or the settings of an inline characterization; never both."""
    try:
        reject_unknown(table, (*(k for k in LUT_FILE.fields if k != "missing"), *LUT_INLINE.fields))
    except Invalid as exc:
        raise ConfigError(f"{where}.{exc.path}: {exc.reason}") from None
    if "path" in table:
        if table.get("activations", "uniform") != "uniform":
            raise ConfigError(f"{where}.activations: {table['activations']!r} characterizes the multiplier again "
                              "with each layer's activations, which needs an inline characterization "
                              "(bits = ..., not path)")
        extra = [key for key in table if key not in ("path", "missing")]
        if extra:
            raise ConfigError(f"{where}.{extra[0]}: give either path or an inline characterization, not both")
        values = LUT_FILE.validate(table, where, base)
        return LutSource(path=values["path"], missing=values["missing"])
    if "bits" not in table:
        raise ConfigError(f'{where}: give path = "lut.csv" or an inline characterization (bits = 8, ...)')
    inline = LUT_INLINE.validate(table, where, base)
    return LutSource(inline=inline, missing=inline.pop("missing"))

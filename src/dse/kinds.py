"""Study kinds: the protocol every kind implements and the registry that finds them by name.

A kind is a search space plus objectives evaluated against a LUT. Kinds are
plugins: a package declares each of its kinds as an entry point of the group
`gatedse.study_kinds` (name = the kind's name, value = `module:Class`), and
`kind(name)` loads only the one asked for. `dse` thus never imports the
package that brings a kind (our own `studies` included). `register(cls)` adds
a kind that no installed package declares, such as one defined in a test.
"""

from __future__ import annotations

import abc
import argparse
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from dse.errors import ConfigError, StudyError
from dse.schema import Section

if TYPE_CHECKING:
    import optuna

    from characterize.lut.table import Lut

DIRECTIONS = ("maximize", "minimize")


@dataclass(frozen=True)
class Objective:
    """One optimization target; `name` is also its user-attribute and column name, `label` its axis label with unit."""

    name: str
    direction: str
    label: str

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"objective {self.name!r}: direction must be one of {DIRECTIONS}, got {self.direction!r}")


@dataclass(frozen=True)
class StudyContext:
    """What a kind gets besides its own settings: the LUT, the data and model tables, seed, device, a work folder
    of the study's own, a cache folder that studies share (default: the work folder), the [cost] table
    (zero-skipping), and, when energy is priced per layer ([lut] activations = "per-layer"), the function that
    characterizes the study's multiplier with a given activation sequence (None otherwise).

    `progress`: whether long work (training) shows progress bars on stderr. `stop`: an event set to end the run
    early; long work checks it (training at every batch) and then raises `dse.errors.Stopped`.
    """

    lut: Lut
    data: dict
    model: dict
    seed: int
    device: str
    workdir: Path
    cache: Path | None = None
    progress: bool = False
    stop: threading.Event | None = None
    cost: dict = field(default_factory=dict)
    characterize_with: Callable[[Sequence[int]], Lut] | None = None


class StudyKind(abc.ABC):
    """A search space with objectives, evaluated per Optuna trial.

    Life cycle: `validate(settings, where)` (the [space] table, by default
    checked against `space`) and the `tables` schemas once when the study file is read;
    `__init__(settings, context)` once per process; `baseline()` once when the
    study is created (the unrestricted design, stored with the study);
    `evaluate(trial)` per trial. `evaluate` returns a value for every objective
    and may add further metrics (for constraints, e.g. "accuracy_drop").
    `add_commands(commands)` lets a kind bring its own `dse` commands.
    """

    name: ClassVar[str]
    objectives: ClassVar[tuple[Objective, ...]]
    space: ClassVar[Section] = Section({})
    """Schema of the [space] table."""
    tables: ClassVar[Mapping[str, Section]] = {}
    """Schemas of the other tables the kind reads ("data", "model"); a table not named here must stay empty."""
    layer_costs: ClassVar[bool] = False
    """Whether the kind prices its networks with the study's cost model (`StudyContext.cost`, per-layer LUTs), so
    that a [cost] table and [lut] activations = "per-layer" apply to it."""

    @classmethod
    def validate(cls, settings: dict, where: str) -> dict:
        """Check the study file's [space] table; raise ConfigError(f"{where}.key: reason"); return it normalized."""
        return cls.space.validate(settings, where)

    @classmethod
    def grid_space(cls, settings: dict) -> dict[str, list] | None:
        """The full discrete search space for the grid sampler, or None when the space is not discrete."""
        return None

    @classmethod
    def add_commands(cls, commands: argparse._SubParsersAction) -> None:
        """Add the kind's own `dse` commands (e.g. `dse prune`) to the command line; none by default."""

    @abc.abstractmethod
    def __init__(self, settings: dict, context: StudyContext) -> None: ...

    @abc.abstractmethod
    def baseline(self) -> dict[str, float]:
        """Objective values of the unrestricted design, the reference every trial is compared with."""

    @abc.abstractmethod
    def evaluate(self, trial: optuna.Trial) -> dict[str, float]:
        """Suggest parameters on `trial`, return objective values and any extra metrics by name."""


ENTRY_POINT_GROUP = "gatedse.study_kinds"

_KINDS: dict[str, type[StudyKind]] = {}


def register(cls: type[StudyKind]) -> type[StudyKind]:
    """Make a kind that no installed package declares findable by its `name` (usable as a class decorator)."""
    _KINDS[cls.name] = cls
    return cls


def kind_names() -> list[str]:
    """Names of every known kind: the registered ones and those the installed packages declare."""
    return sorted(set(_KINDS) | {point.name for point in entry_points(group=ENTRY_POINT_GROUP)})


def kind(name: str) -> type[StudyKind]:
    """The kind called `name`, loading its package's entry point on first need; ConfigError lists known kinds."""
    if name not in _KINDS:
        points = entry_points(group=ENTRY_POINT_GROUP, name=name)
        if not points:
            raise ConfigError(f"unknown study kind {name!r} (known: {', '.join(kind_names()) or 'none'})")
        point = next(iter(points))
        try:
            loaded = point.load()
        except ImportError as exc:
            raise StudyError(f"entry point {name} = {point.value} of group {ENTRY_POINT_GROUP} cannot be "
                             f"loaded: {exc}") from exc
        if not (isinstance(loaded, type) and issubclass(loaded, StudyKind) and loaded.name == name):
            raise StudyError(f"entry point {name} = {point.value} of group {ENTRY_POINT_GROUP} is not a "
                             f"StudyKind named {name!r}")
        _KINDS[name] = loaded
    return _KINDS[name]


def all_kinds() -> list[type[StudyKind]]:
    """Every known kind, each loaded."""
    return [kind(name) for name in kind_names()]

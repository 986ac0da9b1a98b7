"""The characterization sweep: every weight value of a multiplier through timing simulation into a LUT.

Per weight: build the design (the generic multiplier with the weight held at
its port — `stationary`, as in a weight-stationary systolic array — or the
multiplier with the weight embedded and simplified — `embedded`), simulate the
same activation transitions (seeded uniform, drawn from a histogram, or a given
sequence such as a network layer's recorded stream), and measure area, static and sensitized
delay (the simulation runs on per-arc delays from the NLDM delay calculation,
or from `sdf` for the generic multiplier; the static timing is that of the
simulated arc delays), switching energy, toggles and glitches. Each weight's result is stored
in a content-addressed cache as soon as it is done, so a rerun is instant and
an interrupted sweep resumes where it stopped. Weights run in parallel
processes, which exit when the sweep's process dies; sweeps sharing one cache
compute each weight once.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

import cells
import characterize
from cells.cache import cache_root, package_version, source_digest
from cells.default import default_library_path, load_library
from cells.files import file_lock, write_text
from cells.units import FJ_PER_J, NW_PER_W, PS_PER_S, S_PER_PS
from characterize.choices import MODES, SIZE_FOR
from characterize.errors import SimulationError
from characterize.lut.activations import activation_sequence
from characterize.lut.clocked_measure import CLOCK_PORT, PE_COLUMNS, measure_clocked, min_period_ps
from characterize.lut.executors import DaskExecutor
from characterize.lut.pool_workers import exit_with_parent
from characterize.lut.table import LUT_COLUMNS, Lut
from characterize.netlist.ir import Netlist
from characterize.netlist.techmap import DEFAULT_DONT_USE, CellMatcher
from characterize.passes.designs import (
    STRATEGIES,
    MultiplierSpec,
    embedded_designs,
    pe_design,
    reference_design,
    smallest,
    verify_product,
)
from characterize.passes.netlist_design import NetlistDesign
from characterize.passes.sizing import size_cells, upsized_cells
from characterize.timing.delaycalc import DelayCalculation, calculate_delays
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, TimedGates, annotate_arc_delays, default_external_load
from characterize.timing.power import simulate_energy
from characterize.timing.sdf import read_sdf
from characterize.timing.sta import static_timing

REFERENCE = "reference"
SIZE_COLUMNS = ("upsized_cells",)  # with size_for = delay: instances larger than their function's smallest cell


@dataclass(frozen=True)
class SweepConfig:
    """Everything that determines a sweep's numbers (and so its cache keys)."""

    spec: MultiplierSpec | NetlistDesign
    mode: str
    weights: tuple[int, ...]
    vectors: int = 10_000
    seed: int = 0
    histogram: tuple[tuple[int, float], ...] | None = None
    library: str | None = None
    input_slew_ps: float = DEFAULT_INPUT_SLEW_S * PS_PER_S
    period_ps: float | None = None
    strategy: str = "simplify"
    dont_use: tuple[str, ...] = DEFAULT_DONT_USE
    size_for: str = "area"
    sdf: str | None = None
    weight_sample: int | None = None  # the weights are sample_weights(spec.weights, N); not part of cache keys
    sequence: tuple[int, ...] | None = None  # the activations in order (vectors + 1), e.g. a layer's recorded stream

    def __post_init__(self):
        if self.sequence is not None:
            if self.histogram is not None:
                raise SimulationError("give an activation sequence or a histogram to draw from, not both")
            if len(self.sequence) != self.vectors + 1:
                raise SimulationError(f"an activation sequence for {self.vectors} transitions needs "
                                      f"{self.vectors + 1} values, got {len(self.sequence)}")
            values = self.spec.activations if isinstance(self.spec, NetlistDesign) else self.spec.weights
            outside = [a for a in self.sequence if a not in values]
            if outside:
                raise SimulationError(f"activation {outside[0]} of the sequence is outside "
                                      f"{values.start}..{values.stop - 1}")
        if self.sdf is not None and self.mode != "stationary":
            raise SimulationError("an SDF times one netlist: it applies to stationary mode (the generic multiplier), "
                                  "not to embedded mode, which builds one netlist per weight")
        if self.mode not in MODES:
            raise SimulationError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.strategy not in STRATEGIES:
            raise SimulationError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if self.size_for not in SIZE_FOR:
            raise SimulationError(f"size_for must be one of {', '.join(SIZE_FOR)}, got {self.size_for!r}")
        if self.size_for == "delay" and self.sdf is not None:
            raise SimulationError("an SDF times the netlist as mapped, not one sized for delay: size for area with an SDF")
        if self.size_for == "delay" and isinstance(self.spec, NetlistDesign) and self.spec.clock is not None:
            raise SimulationError("sizing for delay resizes combinational netlists (and the processing element's MAC) "
                                  "only; characterize a netlist with flip-flops sized for area")
        if self.vectors < 1:
            raise SimulationError(f"vectors must be at least 1, got {self.vectors}")
        for weight in self.weights:
            self.spec.check_weight(weight)


def cache_key(config: SweepConfig, item: int | str) -> str:
    """Hash of what determines one item's result: config (less the weight list), library content, code."""
    fields = asdict(config)
    fields.pop("weights")
    fields.pop("weight_sample")
    fields["item"] = item
    fields["library_sha256"] = library_sha256(config)
    fields["sdf_sha256"] = hashlib.sha256(Path(config.sdf).read_bytes()).hexdigest() if config.sdf else None
    fields["version"] = package_version()
    fields["code"] = source_digest(cells, characterize)  # the code that computes the numbers
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def library_sha256(config: SweepConfig) -> str:
    """Content hash of the sweep's Liberty file (as stored, gzipped or not)."""
    library = Path(config.library) if config.library else default_library_path()
    return hashlib.sha256(library.read_bytes()).hexdigest()


def default_cache_dir() -> Path:
    return cache_root() / "sweep"


class _Characterizer:
    """Per-process state of a sweep: library, reference design, activations, period.

    `mapped` is the reference design as built or read, which weights are embedded into and checked against;
    `reference` is what is measured for the reference row and in stationary mode: `mapped` sized by `size_for`
    (the processing element is built with its MAC sized, so both are that).
    """

    def __init__(self, config: SweepConfig):
        self.config = config
        self.library = load_library(config.library)
        self.matcher = CellMatcher(self.library, config.dont_use)
        self.external_load = default_external_load(self.library)
        self.input_slew = config.input_slew_ps * S_PER_PS
        spec = config.spec
        if isinstance(spec, NetlistDesign):
            self.mapped = spec.read(self.library)
            self.reference = self._sized(self.mapped)
            values = spec.activations
        elif spec.pe:
            self.mapped = self.reference = pe_design(spec, self.library, self.matcher, sized=self._sized_mac)
            values = spec.weights
        else:
            self.mapped = reference_design(spec, self.library, self.matcher)
            self.reference = self._sized(self.mapped)
            values = spec.weights
        if config.sequence is not None:
            self.activations = np.array(config.sequence, dtype=np.int64)
        else:
            self.activations = activation_sequence(
                config.vectors + 1, values.start, values.stop - 1, config.seed, config.histogram
            )
        self._reference_timed = None
        self.period_s = self._clock_period()

    @property
    def clock(self) -> str | None:
        """The clock port of a clocked design (the PE, or a user netlist with flip-flops); None otherwise."""
        spec = self.config.spec
        if isinstance(spec, NetlistDesign):
            return spec.clock
        return CLOCK_PORT if spec.pe else None

    @property
    def clocked(self) -> bool:
        return self.clock is not None

    def _clock_period(self) -> float:
        """The configured clock period, or the reference design's critical delay or minimum period (one whole ps up)."""
        if self.config.period_ps:
            return self.config.period_ps * S_PER_PS
        if self.clocked:
            return float(np.ceil(min_period_ps(self.reference, self.clock, self.input_slew, self.external_load))) * S_PER_PS
        timed = self._timed(self.reference)
        return float(np.ceil(static_timing(timed).critical_delay_s * PS_PER_S)) * S_PER_PS

    def _sized(self, design: Netlist) -> Netlist:
        return size_cells(design, self.matcher, self.config.size_for, self.input_slew, self.external_load)

    @property
    def _sized_mac(self):
        """What resizes the processing element's MAC: `_sized`, or None when sizing for area."""
        return self._sized if self.config.size_for != "area" else None

    def _timed(self, design: Netlist) -> TimedGates:
        """`design` with its arc delays; the reference's, shared by every stationary weight, are computed once."""
        if design is not self.reference:
            return annotate_arc_delays(self._delays(design))
        if self._reference_timed is None:
            self._reference_timed = annotate_arc_delays(self._delays(design))
        return self._reference_timed

    def _delays(self, design: Netlist) -> DelayCalculation:
        """Arc delays from the library's tables, or from the SDF for the generic multiplier."""
        if self.config.sdf and design is self.reference:
            return read_sdf(self.config.sdf, design, self.input_slew, self.external_load)
        return calculate_delays(design, self.input_slew, self.external_load)

    def run(self, item: int | str) -> dict:
        """Measure one weight value, or the reference circuit with weights changing too."""
        spec, mode = self.config.spec, self.config.mode
        user = isinstance(spec, NetlistDesign)
        weight_port, activation_port = (spec.weight_port, spec.activation_port) if user else ("w", "a")
        inputs = self._other_inputs(weight_port, activation_port)
        inputs[activation_port] = self.activations
        launch = None
        if item == REFERENCE:
            design = self.reference
            rng = np.random.default_rng(self.config.seed + 2)
            inputs[weight_port] = rng.integers(spec.weights.start, spec.weights.stop, len(self.activations), dtype=np.int64)
        elif mode == "stationary":
            design = self.reference
            inputs[weight_port] = np.full(len(self.activations), item, dtype=np.int64)
            launch = np.array([n for p in design.inputs if p.name != weight_port for n in p.nets], dtype=np.int64)
        elif user:
            design = spec.embedded(self.mapped, int(item), self.config.strategy, self.matcher, self._sized)
        elif self.clocked:
            design = pe_design(spec, self.library, self.matcher, int(item), self.config.strategy, self._sized_mac)
        else:
            design = self._sized(smallest(embedded_designs(self.mapped, spec, int(item), self.config.strategy,
                                                           self.matcher)))
            verify_product(design, spec, weight=int(item))
        if self.clocked:
            return self._measure_clocked(design, {k: v for k, v in inputs.items() if k in _port_names(design)}, item)
        return self._measure(design, inputs, launch, item)

    def _measure_clocked(self, design: Netlist, inputs: dict[str, np.ndarray], item) -> dict:
        fields, per_cycle = measure_clocked(design, self.clock, inputs, self.period_s, self.input_slew, self.external_load)
        spec = self.config.spec
        row = {"weight": None if item == REFERENCE else int(item), "mode": self.config.mode, "arch": spec.arch,
               "bits": spec.bits, "signed": spec.signed, **fields}
        if self.config.size_for == "delay":
            row["upsized_cells"] = upsized_cells(design, self.matcher)
        frame = pd.DataFrame({"activation": self.activations[1:], "energy": per_cycle * FJ_PER_J})
        grouped = frame.groupby("activation").agg(transitions=("energy", "size"), mean_energy_fJ=("energy", "mean"))
        grouped.insert(1, "max_sensitized_delay_ps", fields["critical_delay_ps"])
        corner = {"voltage_V": self.library.voltage, "temperature_C": self.library.temperature}
        return {"row": row, "activations": grouped.reset_index().to_dict(orient="list"),
                "period_ps": self.period_s * PS_PER_S, "corner": corner}

    def _other_inputs(self, weight_port: str, activation_port: str) -> dict[str, np.ndarray]:
        """Inputs besides weight and activation (an accumulator, enables): seeded uniform values of their width."""
        rng = np.random.default_rng(self.config.seed + 1)
        inputs: dict[str, np.ndarray] = {}
        for port in self.reference.inputs:
            if port.name in (weight_port, activation_port, self.clock):
                continue
            words = [int.from_bytes(rng.bytes((port.width + 7) // 8), "little") & ((1 << port.width) - 1)
                     for _ in range(len(self.activations))]
            inputs[port.name] = np.array(words, dtype=object if port.width > 62 else np.int64)
        return inputs

    def _measure(self, design: Netlist, inputs: dict[str, np.ndarray], launch, item) -> dict:
        timed = self._timed(design)
        run = simulate_energy(timed, inputs)
        result = run.result
        report = static_timing(timed, launch)
        delays_ps = result.sensitized_delay_s * PS_PER_S
        energy_fj = (run.dynamic_j + run.model.leakage_power_w * self.period_s) * FJ_PER_J
        spec = self.config.spec
        row = {
            "weight": None if item == REFERENCE else int(item),
            "mode": self.config.mode,
            "arch": spec.arch,
            "bits": spec.bits,
            "signed": spec.signed,
            "cells": len(design.instances),
            "area_um2": design.area,
            "critical_delay_ps": report.critical_delay_s * PS_PER_S,
            "max_sensitized_delay_ps": float(delays_ps.max()),
            "mean_sensitized_delay_ps": float(delays_ps.mean()),
            "energy_per_op_fJ": float(energy_fj.mean()),
            "toggles_per_op": float(result.toggles.sum() / result.transitions),
            "glitches_per_op": float(result.glitches.sum() / result.transitions),
            "leakage_nW": run.model.leakage_power_w * NW_PER_W,
        }
        if self.config.size_for == "delay":
            row["upsized_cells"] = upsized_cells(design, self.matcher)
        targets = self.activations[1:]
        frame = pd.DataFrame({"activation": targets, "delay": delays_ps, "energy": energy_fj})
        grouped = frame.groupby("activation").agg(
            transitions=("delay", "size"), max_sensitized_delay_ps=("delay", "max"), mean_energy_fJ=("energy", "mean")
        )
        per_activation = grouped.reset_index().to_dict(orient="list")
        corner = {"voltage_V": self.library.voltage, "temperature_C": self.library.temperature}
        return {"row": row, "activations": per_activation, "period_ps": self.period_s * PS_PER_S, "corner": corner}


class _ItemRunner:
    """Characterize items through the shared cache: read a stored result, or compute it under the item's lock.

    Each item's lock file (`<key>.lock` beside its entry) is held while it is
    computed, so two sweeps sharing a cache never compute one weight twice: the
    second waits, then reads the first one's result. A cache entry that cannot
    be read (cut off by a crash, edited) is a miss: computed again and replaced.
    """

    def __init__(self, config: SweepConfig, cache: Path):
        self.config = config
        self.cache = cache
        self._characterizer: _Characterizer | None = None

    def entry(self, item: int | str) -> Path:
        return self.cache / f"{cache_key(self.config, item)}.json"

    def cached(self, item: int | str) -> dict | None:
        return read_cache_entry(self.entry(item))

    def run(self, item: int | str, wait: bool) -> dict | None:
        """The item's result, computed here unless cached; None (without `wait`) while another process computes it."""
        entry = self.entry(item)
        with file_lock(entry.with_suffix(".lock"), wait=wait) as held:
            if not held:
                return None
            result = read_cache_entry(entry)
            if result is None:
                if self._characterizer is None:
                    self._characterizer = _Characterizer(self.config)
                result = self._characterizer.run(item)
                write_text(entry, json.dumps(result))
            # With the entry stored the lock has done its job: a process waiting on it finds the entry.
            entry.with_suffix(".lock").unlink(missing_ok=True)
            return result


def read_cache_entry(path: Path) -> dict | None:
    """A stored result, or None when the entry is missing or unreadable (then it is recomputed)."""
    try:
        result = json.loads(path.read_bytes())
    except (OSError, ValueError):  # missing, cut off, not JSON
        return None
    if not isinstance(result, dict) or not {"row", "activations", "period_ps"} <= result.keys():
        return None
    return result


def _port_names(design: Netlist) -> set[str]:
    return {p.name for p in design.inputs}


_runner: _ItemRunner | None = None


def _init_worker(config: SweepConfig, cache: Path, parent_pid: int) -> None:
    global _runner
    exit_with_parent(parent_pid)
    _runner = _ItemRunner(config, cache)


def _run_item(item: int | str, wait: bool) -> tuple[int | str, dict | None]:
    return item, _runner.run(item, wait)


def run_sweep(config: SweepConfig, jobs: int = 1, cache_dir: Path | None = None, progress: bool = True,
              dask: DaskExecutor | None = None) -> Lut:
    """Characterize every weight of `config` (cached items are read, not recomputed) into a Lut.

    Items run in this process, in `jobs` local processes, or as tasks on the
    Dask cluster of `dask`, whose results this process stores in the cache as
    they arrive. Locally, an item another process is computing is put back at
    the end of the queue, and then waited for, so the wait costs nothing while
    other items remain.
    """
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    runner = _ItemRunner(config, cache)
    items: list[int | str] = [REFERENCE, *config.weights]
    results: dict[int | str, dict] = {}
    for item in items:
        if (result := runner.cached(item)) is not None:
            results[item] = result
    todo = [item for item in items if item not in results]
    bar = tqdm(total=len(items), initial=len(items) - len(todo), desc=f"{config.mode} {config.spec.bits}-bit",
               unit="weight", disable=not progress)
    with bar:
        if todo and dask is not None:
            with closing(dask.run(_Characterizer, config, todo)) as finished:
                for item, result in finished:
                    write_text(runner.entry(item), json.dumps(result))
                    results[item] = result
                    bar.update()
        elif todo and jobs > 1:
            context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                                     initargs=(config, cache, os.getpid())) as pool:
                pending = {pool.submit(_run_item, item, False) for item in todo}
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        item, result = future.result()
                        if result is None:
                            pending.add(pool.submit(_run_item, item, True))
                        else:
                            results[item] = result
                            bar.update()
        else:
            queue = deque((item, False) for item in todo)
            while queue:
                item, wait_for_it = queue.popleft()
                result = runner.run(item, wait_for_it)
                if result is None:
                    queue.append((item, True))
                else:
                    results[item] = result
                    bar.update()
    return _assemble(config, results)


def _assemble(config: SweepConfig, results: dict) -> Lut:
    rows = [results[REFERENCE]["row"]] + [results[w]["row"] for w in config.weights]
    pe = isinstance(config.spec, MultiplierSpec) and config.spec.pe
    extra = (list(PE_COLUMNS) if pe else []) + (list(SIZE_COLUMNS) if config.size_for == "delay" else [])
    table = pd.DataFrame(rows, columns=list(LUT_COLUMNS) + extra)
    table["weight"] = table["weight"].astype("Int64")
    tables = []
    for weight in config.weights:
        frame = pd.DataFrame(results[weight]["activations"])
        frame.insert(0, "weight", weight)
        tables.append(frame)
    activations = pd.concat(tables, ignore_index=True) if tables else None
    spec = config.spec
    if isinstance(spec, NetlistDesign):
        generator = spec.provenance()
    else:
        generator = {"bits": spec.bits, "signed": spec.signed, "arch": spec.arch, "adder": spec.adder, "mac_bits": spec.mac_bits}
        if spec.pe:
            generator.update(design="processing element", acc_bits=spec.mac_bits, clock=CLOCK_PORT,
                             operation="one clock cycle")
    meta = {
        "library": config.library or str(default_library_path().name),
        "library_sha256": library_sha256(config),
        **results[REFERENCE]["corner"],
        "dont_use": list(config.dont_use),
        "size_for": config.size_for,
        "generator": generator,
        "mode": config.mode,
        "strategy": config.strategy,
        "vectors": config.vectors,
        "seed": config.seed,
        "activations": "sequence" if config.sequence else "histogram" if config.histogram else "uniform",
        "input_slew_ps": config.input_slew_ps,
        "sdf": config.sdf,
        "period_ps": results[REFERENCE]["period_ps"],
        "version": package_version(),
        "bits": spec.bits,
        "signed": spec.signed,
        "arch": spec.arch,
    }
    if config.sequence:
        meta["activation_sequence_sha256"] = hashlib.sha256(json.dumps(list(config.sequence)).encode()).hexdigest()
    if config.weight_sample:
        meta["weight_sample"] = {"n": config.weight_sample, "seed": config.seed, "weights": list(config.weights)}
    return Lut(table, activations, meta)

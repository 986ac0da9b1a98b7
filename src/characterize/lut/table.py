"""Lookup tables of per-weight hardware cost: a CSV, a JSON sidecar with provenance, an activation table.

`LUT.csv` has one row per weight value plus a reference row (empty weight) for
the circuit without an embedded weight; `LUT.json` records how it was made;
`LUT.activations.csv` gives, per weight and activation value, the transitions
that ended on that activation, their worst sensitized delay and mean energy.
The sidecar's `files` entry records each table's row count and SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cells.errors import GatedseError
from cells.files import atomic_path, write_text
from characterize.csvfile import read_csv

LUT_COLUMNS = (
    "weight", "mode", "arch", "bits", "signed", "cells", "area_um2", "critical_delay_ps",
    "max_sensitized_delay_ps", "mean_sensitized_delay_ps", "energy_per_op_fJ", "toggles_per_op",
    "glitches_per_op", "leakage_nW",
)
ACTIVATION_COLUMNS = ("weight", "activation", "transitions", "max_sensitized_delay_ps", "mean_energy_fJ")
ACTIVATIONS_SUFFIX = ".activations.csv"
FILES_KEY = "files"  # sidecar entry: per table key, its row count and SHA-256
TABLE_KEY = "table"
ACTIVATIONS_KEY = "activations"
MISSING_POLICIES = ("error", "nearest")


class LutError(GatedseError):
    """A LUT file is missing, malformed, or lacks a weight that is asked for."""


@dataclass(frozen=True)
class Lut:
    """A characterization result: per-weight rows, the reference row, the activation table, provenance.

    `missing` says what `column` does with a weight the LUT has no row for:
    "error" (LutError naming it) or "nearest" (the row of the nearest weight
    that has one, the smaller on a tie), for LUTs of a weight sample.
    """

    table: pd.DataFrame
    activations: pd.DataFrame | None = None
    meta: dict = field(default_factory=dict)
    missing: str = "error"

    @property
    def weights(self) -> pd.DataFrame:
        """Rows with a weight value, indexed by weight (int)."""
        rows = self.table[self.table["weight"].notna()].copy()
        rows["weight"] = rows["weight"].astype(int)
        return rows.set_index("weight").sort_index()

    @property
    def reference(self) -> pd.Series | None:
        """The row of the circuit without an embedded weight, if the LUT has one."""
        rows = self.table[self.table["weight"].isna()]
        return rows.iloc[0] if len(rows) else None

    def column(self, name: str, weights) -> np.ndarray:
        """Values of `name` for each weight in `weights`; a weight the LUT lacks follows `missing`."""
        rows = self.weights
        weights = np.asarray(weights, dtype=int)
        missing = sorted(set(np.unique(weights).tolist()) - set(rows.index))
        if missing and self.missing != "nearest":
            sample = self.meta.get("weight_sample")
            holds = f"; it holds a sample of {len(rows)} weight values" if sample else ""
            raise LutError(
                f"LUT has no row for weight {missing[0]}{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}"
                f"{holds}; characterize it, or set [lut] missing = \"nearest\" to use the nearest weight's row"
            )
        if missing:
            weights = nearest(rows.index.to_numpy(), weights)
        return rows.loc[weights, name].to_numpy(dtype=float)

    def save(self, path: str | Path) -> None:
        """Write the CSV, the activation table and last the sidecar, each atomically.

        The sidecar records each table's row count and SHA-256, so that a LUT
        whose files do not belong together (a crash between two renames, a file
        cut off or replaced) is rejected when loaded.
        """
        path = Path(path)
        check_lut_path(path)
        tables = {TABLE_KEY: (path, self.table)}
        if self.activations is not None:
            tables[ACTIVATIONS_KEY] = (activations_path(path), self.activations)
        record = {}
        for key, (file, frame) in tables.items():
            data = frame.to_csv(index=False).encode()
            with atomic_path(file) as partial:
                partial.write_bytes(data)
            record[key] = {"rows": len(frame), "sha256": hashlib.sha256(data).hexdigest()}
        meta = {**self.meta, FILES_KEY: record}
        write_text(sidecar_path(path), json.dumps(meta, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Lut:
        """Read a LUT; LutError names a file that is malformed or disagrees with the sidecar's record."""
        path = Path(path)
        meta = {}
        if sidecar_path(path).exists():
            try:
                meta = json.loads(sidecar_path(path).read_text())
            except json.JSONDecodeError as exc:
                raise LutError(f"{sidecar_path(path)}:{exc.lineno}: malformed JSON: {exc.msg}") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise LutError(f"{sidecar_path(path)}: cannot read: {exc}") from None
        record = meta.pop(FILES_KEY, None)
        table = _read_table(path, "LUT file", LUT_COLUMNS, record and record.get(TABLE_KEY), sidecar_path(path))
        activations = None
        expected = record.get(ACTIVATIONS_KEY) if record else None
        if expected is not None or (record is None and activations_path(path).exists()):
            activations = _read_table(activations_path(path), "activation table", ACTIVATION_COLUMNS, expected,
                                      sidecar_path(path))
        return cls(table, activations, meta)


def _read_table(path: Path, what: str, columns: tuple[str, ...], expected: dict | None, sidecar: Path) -> pd.DataFrame:
    """A LUT table; with `expected` (rows, sha256 from the sidecar) the file must match it."""
    if expected is not None:
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except FileNotFoundError:
            raise LutError(f"{path}: no such {what} (listed in {sidecar.name})") from None
        if digest != expected.get("sha256"):
            raise LutError(f"{path}: does not match {sidecar.name} (SHA-256 differs: cut off, or written by "
                           "another run); characterize again")
    frame = read_csv(path, LutError, what)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LutError(f"{path}: missing column(s) {', '.join(missing)}")
    if expected is not None and len(frame) != expected.get("rows"):
        raise LutError(f"{path}: {len(frame)} rows, but {sidecar.name} records {expected.get('rows')}")
    return frame


def check_lut_path(path: Path) -> None:
    """A LUT file name must end in .csv and must not be a sidecar name, or the files would overwrite each other."""
    if path.suffix != ".csv" or path.name.endswith(ACTIVATIONS_SUFFIX):
        raise LutError(f"{path}: a LUT file name must end in .csv but not in {ACTIVATIONS_SUFFIX} "
                       f"(its sidecars are NAME.json and NAME{ACTIVATIONS_SUFFIX})")


def nearest(known: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """For each weight, the nearest value of the sorted array `known` (the smaller on a tie)."""
    right = np.clip(np.searchsorted(known, weights), 1, len(known) - 1) if len(known) > 1 else np.zeros_like(weights)
    left = np.maximum(right - 1, 0)
    take_right = np.abs(known[right] - weights) < np.abs(weights - known[left])
    return np.where(take_right, known[right], known[left])


def sidecar_path(path: Path) -> Path:
    return path.with_suffix(".json")


def activations_path(path: Path) -> Path:
    return path.with_name(path.stem + ACTIVATIONS_SUFFIX)


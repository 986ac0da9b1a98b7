"""Data sets for the studies: scikit-learn's digits, or a user's `.npz`, CSV or image folder.

Every source ends as float32 features and integer class labels, split into
stratified train / validation / test parts with a seeded generator (the same
seed gives the same split) and standardized with statistics of the training
part only, so no information leaks from validation or test data.

[data] keys: `source` ("digits" or a path), `format` (npz, csv or images;
default from the path), `label_column` (CSV, "label"), `val_fraction` (0.15),
`test_fraction` (0.2), `standardize` (true), `image_size` ([height, width] to
resize images to), `channels` (1 or 3 for images; default from the first).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from studies.errors import DataError
from studies.images import read_image_folder

DEFAULTS = {
    "source": "digits",
    "format": None,
    "label_column": "label",
    "val_fraction": 0.15,
    "test_fraction": 0.2,
    "standardize": True,
    "image_size": None,
    "channels": None,
}
FORMATS = ("digits", "npz", "csv", "images")

Split = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Dataset:
    """Train, validation and test parts as (features float32, labels int64) plus the shape of one input."""

    train: Split
    val: Split
    test: Split
    n_classes: int
    input_shape: tuple[int, ...]
    classes: tuple[str, ...]


def load_dataset(config: dict, seed: int) -> Dataset:
    """Read the source named by the [data] table, split it and standardize it."""
    settings = validate_data_settings(config)
    x, labels = _read(settings)
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"{settings['source']}: needs at least two classes, found {len(classes)}")
    train, val, test = split_indices(y, settings["val_fraction"], settings["test_fraction"], seed, settings["source"])
    x = x.astype(np.float32)
    if settings["standardize"]:
        x = standardize(x, train)
    parts = tuple((torch.from_numpy(x[i].copy()), torch.from_numpy(y[i].astype(np.int64))) for i in (train, val, test))
    return Dataset(*parts, n_classes=len(classes), input_shape=tuple(x.shape[1:]),
                   classes=tuple(str(c) for c in classes))


def validate_data_settings(config: dict) -> dict:
    """The [data] table with defaults filled in; DataError names the first bad key."""
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise DataError(f"data.{unknown[0]}: unknown key (known: {', '.join(sorted(DEFAULTS))})")
    settings = {**DEFAULTS, **config}
    source = settings["source"]
    if not isinstance(source, (str, Path)):
        raise DataError(f"data.source: expected 'digits' or a path, got {source!r}")
    if settings["format"] is None:
        settings["format"] = _infer_format(Path(source)) if source != "digits" else "digits"
    if settings["format"] not in FORMATS:
        raise DataError(f"data.format: expected one of {', '.join(FORMATS)}, got {settings['format']!r}")
    for key in ("val_fraction", "test_fraction"):
        value = settings[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise DataError(f"data.{key}: expected a number between 0 and 1, got {value!r}")
    if settings["val_fraction"] + settings["test_fraction"] >= 1:
        raise DataError("data.val_fraction + data.test_fraction: must leave a training part (sum below 1)")
    if not isinstance(settings["standardize"], bool):
        raise DataError(f"data.standardize: expected true or false, got {settings['standardize']!r}")
    size = settings["image_size"]
    if size is not None and not (isinstance(size, (list, tuple)) and len(size) == 2
                                 and all(isinstance(s, int) and s > 0 for s in size)):
        raise DataError(f"data.image_size: expected [height, width] in pixels, got {size!r}")
    if settings["channels"] not in (None, 1, 3):
        raise DataError(f"data.channels: expected 1 or 3, got {settings['channels']!r}")
    if not isinstance(settings["label_column"], str):
        raise DataError(f"data.label_column: expected a column name, got {settings['label_column']!r}")
    return settings


def _infer_format(path: Path) -> str:
    if path.is_dir():
        return "images"
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "npz"
    if suffix in (".csv", ".txt"):
        return "csv"
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    raise DataError(f"{path}: cannot tell the format from the name (set data.format to npz, csv or images)")


def _read(settings: dict) -> tuple[np.ndarray, np.ndarray]:
    fmt, source = settings["format"], Path(settings["source"])
    if fmt == "digits":
        digits = load_digits()
        return digits.images[:, None, :, :], digits.target
    if fmt != "images" and not source.is_file():
        raise DataError(f"{source}: no such file")
    if fmt == "npz":
        return read_npz(source)
    if fmt == "csv":
        return read_csv(source, settings["label_column"])
    return read_image_folder(source, settings["image_size"], settings["channels"])


def read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Arrays `x` (samples first: N×F, N×H×W or N×C×H×W, numeric) and `y` (N labels) of a `.npz` file."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path}: holds a single array, not an .npz archive with arrays 'x' and 'y'")
        with loaded as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    if "x" not in arrays or "y" not in arrays:
        raise DataError(f"{path}: needs arrays 'x' and 'y', found {', '.join(sorted(arrays)) or 'none'}")
    x, y = arrays["x"], arrays["y"]
    if x.dtype.kind not in "biuf" or x.ndim not in (2, 3, 4):
        raise DataError(f"{path}: 'x' must be numeric with 2 to 4 dimensions, got {x.dtype} of shape {x.shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{path}: 'y' must hold one label per row of 'x' ({len(x)}), got shape {y.shape}")
    if not np.isfinite(x).all():
        raise DataError(f"{path}: 'x' holds NaN or infinite values")
    return (x[:, None] if x.ndim == 3 else x), y


def read_csv(path: Path, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    """A CSV with a header: the label column, every other column a numeric feature."""
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    if label_column not in table.columns:
        columns = ", ".join(map(str, table.columns[:8]))
        raise DataError(f"{path}: no label column '{label_column}' (columns: {columns}; set data.label_column)")
    features = table.drop(columns=[label_column])
    if features.shape[1] == 0:
        raise DataError(f"{path}: no feature columns besides '{label_column}'")
    for name in features.columns:
        values = pd.to_numeric(features[name], errors="coerce")
        bad = values.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path}:{row + 2}: column '{name}' is empty or not numeric: {features[name].iloc[row]!r}")
    labels = table[label_column]
    if labels.isna().any():
        raise DataError(f"{path}:{int(labels.isna().argmax()) + 2}: label column '{label_column}' is empty")
    return features.to_numpy(dtype=np.float64), labels.to_numpy()


def split_indices(y: np.ndarray, val_fraction: float, test_fraction: float, seed: int,
                  source: str = "data") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified, seeded train / validation / test indices (each class keeps its share in every part)."""
    index = np.arange(len(y))
    try:
        rest, test = train_test_split(index, test_size=test_fraction, random_state=seed, stratify=y)
        train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction), random_state=seed,
                                      stratify=y[rest])
    except ValueError as exc:
        raise DataError(f"{source}: cannot split into stratified parts ({exc})") from None
    return np.sort(train), np.sort(val), np.sort(test)


def standardize(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per feature, with statistics of the training rows only."""
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std < 1e-8] = 1.0
    return ((x - mean) / std).astype(np.float32)

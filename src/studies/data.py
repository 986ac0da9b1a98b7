"""Data sets for the studies: scikit-learn's digits, or a user's `.npz`, CSV or image folder.

Every source ends as float32 features and integer class labels, split into
stratified train / validation / test parts with a seeded generator (the same
seed gives the same split) and standardized with statistics of the training
part only, so no information leaks from validation or test data.

The [data] keys and their defaults are declared in `DATA_SETTINGS`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from dse.schema import Field, Invalid, Section, anchor_path, boolean, file_path, integer, list_of, number, one_of, text
from studies.errors import DataError
from studies.images import read_image_folder
from studies.sources import CHUNK_BYTES, LAYOUTS, Source, csv_source, in_memory, npz_source

FORMATS = ("digits", "npz", "csv", "images")


def _format_and_source(values: dict) -> None:
    """The source must exist; the format defaults to what its name says."""
    source = values["source"]
    if source == "digits":
        values["format"] = values["format"] or "digits"
        return
    if not source.exists():
        raise Invalid(f"no such file or folder: {source}", "source")
    if values["format"] is None:
        values["format"] = _infer_format(source)


def _image_size_is_a_pair(values: dict) -> None:
    if values["image_size"] is not None and len(values["image_size"]) != 2:
        raise Invalid(f"expected [height, width] in pixels, got {values['image_size']}", "image_size")


def _leaves_training(values: dict) -> None:
    if values["val_fraction"] + values["test_fraction"] >= 1:
        raise Invalid("val_fraction + test_fraction must leave a training part (sum below 1)", "val_fraction")


DATA_SETTINGS = Section({
    "source": Field(file_path("digits"), "digits", anchor=anchor_path),
    "format": Field(one_of(FORMATS), None),
    "label_column": Field(text, "label"),
    "val_fraction": Field(number(0, 1, open_bounds=True), 0.15),
    "test_fraction": Field(number(0, 1, open_bounds=True), 0.2),
    "standardize": Field(boolean, True),
    "image_size": Field(list_of(integer(1), "positive integers [height, width]"), None),
    "channels": Field(one_of((1, 3)), None),
    "layout": Field(one_of(LAYOUTS), "auto"),
}, rules=(_format_and_source, _leaves_training, _image_size_is_a_pair), error=DataError)
"""The [data] table: `source` ("digits" or a path, relative to the study file), `format` (npz, csv or images;
default from the path), `label_column` (CSV), `val_fraction`, `test_fraction`, `standardize`, `image_size`
([height, width] to resize images to), `channels` (1 or 3 for images), `layout` (of 4-D .npz images: nchw, nhwc,
or auto: told from the shape)."""

Split = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class Dataset:
    """Train, validation and test parts as (features float32, labels int64), the shape of one input, the class
    labels as the source gives them (label i of a part is `classes[i]`), and `digest`, a hash of the content that
    caches of trained networks are keyed on (empty for a set built in memory).

    `mean` and `std` (float32, shaped like one input) are the standardization the parts went through,
    (raw - mean) / std; None when the data is not standardized.
    """

    train: Split
    val: Split
    test: Split
    n_classes: int
    input_shape: tuple[int, ...]
    classes: tuple[int | float | str, ...]
    digest: str = ""
    mean: np.ndarray | None = None
    std: np.ndarray | None = None


def load_dataset(config: dict, seed: int) -> Dataset:
    """Read the source named by the [data] table, split it and standardize it.

    The samples go straight into one float32 array ordered train, validation,
    test, whose row blocks the three parts share, so a large set is held once.
    """
    settings = validate_data_settings(config)
    source = _open(settings)
    classes, y = np.unique(source.labels, return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"{settings['source']}: needs at least two classes, found {len(classes)}")
    x = np.empty((len(y), *source.sample_shape), np.float32)
    try:
        parts = split_indices(y, settings["val_fraction"], settings["test_fraction"], seed, settings["source"])
    except DataError:
        source.fill(x, np.arange(len(y)))  # a bad value in the file is the first thing to fix
        raise
    order = np.concatenate(parts)
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    source.fill(x, position)
    y = y[order].astype(np.int64)
    mean, std = standardize(x, len(parts[0])) if settings["standardize"] else (None, None)
    ends = np.cumsum([len(part) for part in parts])
    splits = tuple((torch.from_numpy(x[end - len(part):end]), torch.from_numpy(y[end - len(part):end]))
                   for part, end in zip(parts, ends, strict=True))
    return Dataset(*splits, n_classes=len(classes), input_shape=source.sample_shape,
                   classes=tuple(classes.tolist()), digest=content_digest(x, y, classes), mean=mean,
                   std=std)


def content_digest(x: np.ndarray, y: np.ndarray, classes: np.ndarray) -> str:
    """SHA-256 of the samples, labels and class names as the network sees them (split and standardized)."""
    digest = hashlib.sha256(repr((x.shape, tuple(map(str, classes)))).encode())
    digest.update(memoryview(np.ascontiguousarray(y)).cast("B"))
    flat = x.reshape(len(x), -1)
    rows = max(1, CHUNK_BYTES // max(flat.shape[1] * 4, 1))
    for start in range(0, len(flat), rows):
        digest.update(memoryview(flat[start:start + rows]).cast("B"))
    return digest.hexdigest()


def validate_data_settings(config: dict, where: str = "data", base: Path | None = None) -> dict:
    """The [data] table with defaults filled in; DataError names the first bad key."""
    return DATA_SETTINGS.validate(config, where, base)


def _infer_format(path: Path) -> str:
    if path.is_dir():
        return "images"
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "npz"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise Invalid(f"cannot tell the format of {path} from its name (set format to npz, csv or images)", "format")


def _open(settings: dict) -> Source:
    fmt, source = settings["format"], settings["source"]
    if fmt == "digits":
        digits = load_digits()
        return in_memory(digits.images[:, None, :, :], digits.target)
    source = Path(source)
    if fmt != "images" and not source.is_file():
        raise DataError(f"{source}: no such file")
    if fmt == "npz":
        return npz_source(source, settings["layout"])
    if fmt == "csv":
        return csv_source(source, settings["label_column"])
    return in_memory(*read_image_folder(source, settings["image_size"], settings["channels"]))


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


def standardize(x: np.ndarray, n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """In place: zero mean, unit variance per feature of a table, per channel of images (N, C, H, W), with
    statistics of the first `n_train` rows (the training part) only, accumulated in float64 a chunk at a time.
    Returns the mean and standard deviation used (float32, shaped to broadcast against one sample: (F,) or
    (C, 1, 1); a constant feature or channel keeps a deviation of 1).

    Images are standardized per channel, as image pipelines do: per pixel, a
    border pixel that is almost always blank gets a tiny deviation, and the
    rare image with ink there a value in the hundreds, which then sets the
    first layer's input quantization range and rounds every other pixel to 0.
    """
    grouped = x.reshape(len(x), x.shape[1], -1) if x.ndim > 2 else x.reshape(len(x), -1, 1)
    rows = max(1, CHUNK_BYTES // max(2 * x[0].nbytes, 1))  # a float64 copy of a chunk takes CHUNK_BYTES
    chunks = [slice(start, min(start + rows, n_train)) for start in range(0, n_train, rows)]
    count = n_train * grouped.shape[2]
    mean = sum(grouped[c].sum(axis=(0, 2), dtype=np.float64) for c in chunks)[:, None] / count
    variance = np.zeros_like(mean)
    for c in chunks:
        deviation = grouped[c].astype(np.float64)
        deviation -= mean
        deviation *= deviation
        variance += deviation.sum(axis=(0, 2))[:, None]
    std = np.sqrt(variance / count)
    std[std < 1e-8] = 1.0
    mean, std = mean.astype(np.float32), std.astype(np.float32)
    for start in range(0, len(x), rows):
        block = grouped[start:start + rows]
        block -= mean
        block /= std
    shape = (x.shape[1], *[1] * (x.ndim - 2))
    return mean.reshape(shape), std.reshape(shape)

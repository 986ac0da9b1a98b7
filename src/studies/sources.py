"""Data set files read in two steps, so that a large set is never held twice in memory.

First the labels (small), from which the caller draws the split; then the
samples, streamed in chunks of about CHUNK_BYTES straight into their rows of
one preallocated float32 array: converted to float32, checked, and for
channels-last images transposed, chunk by chunk. Peak memory stays near the
size of that float32 array plus one chunk; a CSV never exists as one float64
table.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from studies.errors import DataError

CHUNK_BYTES = 4 << 20
LAYOUTS = ("auto", "nchw", "nhwc")


@dataclass(frozen=True)
class Source:
    """A data set's labels, the shape of one sample, and `fill(out, position)`, which writes sample i as float32
    into `out[position[i]]`."""

    labels: np.ndarray
    sample_shape: tuple[int, ...]
    fill: Callable[[np.ndarray, np.ndarray], None]


def in_memory(x: np.ndarray, labels: np.ndarray) -> Source:
    """A set already in memory (digits, image folders)."""

    def fill(out: np.ndarray, position: np.ndarray) -> None:
        out[position] = x

    return Source(labels, tuple(x.shape[1:]), fill)


def npz_source(path: Path, layout: str = "auto") -> Source:
    """Arrays `x` (samples first: N×F, N×H×W, or N×C×H×W / N×H×W×C as `layout` says or the shape shows) and `y`
    (N labels) of a `.npz` file; `x` is read in chunks from the archive."""
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError(f"{path}: holds a single array, not an .npz archive with arrays 'x' and 'y'")
        with archive:
            if "x" not in archive.files or "y" not in archive.files:
                raise DataError(f"{path}: needs arrays 'x' and 'y', found {', '.join(sorted(archive.files)) or 'none'}")
            y = archive["y"]
            with archive.zip.open("x.npy") as stream:
                shape, fortran_order, dtype = _npy_header(stream)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    if dtype.kind not in "biuf" or len(shape) not in (2, 3, 4):
        raise DataError(f"{path}: 'x' must be numeric with 2 to 4 dimensions, got {dtype} of shape {shape}")
    if y.ndim != 1 or len(y) != shape[0]:
        raise DataError(f"{path}: 'y' must hold one label per row of 'x' ({shape[0]}), got shape {y.shape}")
    sample_shape, arrange = _image_layout(shape, layout, path)

    def fill(out: np.ndarray, position: np.ndarray) -> None:
        start = 0
        for chunk in _npy_chunks(path, shape, fortran_order, dtype):
            if chunk.dtype.kind == "f" and not np.isfinite(chunk).all():
                raise DataError(f"{path}: 'x' holds NaN or infinite values")
            out[position[start:start + len(chunk)]] = arrange(chunk)
            start += len(chunk)

    return Source(y, sample_shape, fill)


def _npy_header(stream) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(stream)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return read(stream)


def _npy_chunks(path: Path, shape: tuple[int, ...], fortran_order: bool, dtype: np.dtype) -> Iterator[np.ndarray]:
    """Consecutive rows of the archive's `x`, about CHUNK_BYTES at a time."""
    row_bytes = dtype.itemsize * math.prod(shape[1:])
    rows = max(1, CHUNK_BYTES // max(row_bytes, 1))
    if fortran_order:  # column-major on disk: rows are not contiguous, so read it whole
        with np.load(path, allow_pickle=False) as archive:
            x = archive["x"]
        for start in range(0, shape[0], rows):
            yield x[start:start + rows]
        return
    with zipfile.ZipFile(path) as archive, archive.open("x.npy") as stream:
        _npy_header(stream)
        for start in range(0, shape[0], rows):
            count = min(rows, shape[0] - start)
            data = stream.read(count * row_bytes)
            if len(data) != count * row_bytes:
                raise DataError(f"{path}: 'x' is truncated (ends before row {start + len(data) // row_bytes})")
            yield np.frombuffer(data, dtype).reshape(count, *shape[1:])


def _image_layout(shape: tuple[int, ...], layout: str, path: Path) -> tuple[tuple[int, ...], Callable]:
    """One sample's shape (features, or channels × height × width) and how to arrange a chunk of rows to it."""
    if len(shape) != 4:
        if layout != "auto":
            raise DataError(f"{path}: data.layout {layout!r} is for 4-D image arrays; 'x' has shape {shape}")
        return ((1, *shape[1:]), lambda chunk: chunk[:, None]) if len(shape) == 3 else (shape[1:], lambda c: c)
    _, a, b, c = shape
    if layout == "auto":
        first, last = a < min(b, c), c < min(a, b)
        if first == last:
            raise DataError(f"{path}: cannot tell whether 'x' of shape {shape} is channels-first (N, C, H, W) or "
                            "channels-last (N, H, W, C); set data.layout to nchw or nhwc")
        layout = "nchw" if first else "nhwc"
    if layout == "nchw":
        return (a, b, c), lambda chunk: chunk
    return (c, a, b), lambda chunk: chunk.transpose(0, 3, 1, 2)


def csv_source(path: Path, label_column: str) -> Source:
    """A CSV with a header: the label column, every other column a numeric feature (parsed as float32)."""
    try:
        columns = [str(name) for name in pd.read_csv(path, nrows=0).columns]
        if label_column not in columns:
            raise DataError(f"{path}: no label column '{label_column}' (columns: {', '.join(columns[:8])}; "
                            "set data.label_column)")
        labels = pd.read_csv(path, usecols=[label_column])[label_column]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    features = [name for name in columns if name != label_column]
    if not features:
        raise DataError(f"{path}: no feature columns besides '{label_column}'")
    if labels.isna().any():
        raise DataError(f"{path}:{int(labels.isna().argmax()) + 2}: label column '{label_column}' is empty")
    rows = max(1, CHUNK_BYTES // (4 * len(features)))

    def fill(out: np.ndarray, position: np.ndarray) -> None:
        start = 0
        try:
            for chunk in pd.read_csv(path, usecols=features, dtype=np.float32, chunksize=rows):
                values = chunk.to_numpy(dtype=np.float32)  # usecols keeps the file order of `features`
                if np.isnan(values).any():
                    _name_bad_cell(path, features, chunk, start)
                out[position[start:start + len(values)]] = values
                start += len(values)
        except ValueError:
            _name_bad_cell(path, features, pd.read_csv(path, usecols=features, dtype=str, keep_default_na=False), 0)
            raise

    return Source(labels.to_numpy(), (len(features),), fill)


def _name_bad_cell(path: Path, features: list[str], chunk: pd.DataFrame, first_row: int) -> None:
    """DataError naming the line and column of the first empty or non-numeric cell of `chunk`."""
    for name in features:
        values = pd.to_numeric(chunk[name].replace("", np.nan), errors="coerce")
        bad = values.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path}:{first_row + row + 2}: column '{name}' is empty or not numeric: "
                            f"{chunk[name].iloc[row]!r}")

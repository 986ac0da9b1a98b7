"""Peak memory of loading a data set: a CIFAR-10-sized channels-last .npz and a wide CSV, against their size.

Usage: .venv/bin/python benchmarks/data_loading.py [--samples 60000] [--csv-rows 100000]

Writes the files into a temporary folder, then per file prints the float32
size of the samples (the reference), the peak memory traced while
`load_dataset` reads, splits and standardizes them, their ratio, and the time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from studies.data import load_dataset


def measure(path: Path, float32_bytes: int) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    data = load_dataset({"source": str(path)}, seed=0)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{path.name}: samples {float32_bytes / 1e6:.0f} MB as float32, input shape {data.input_shape}; "
          f"peak {peak / 1e6:.0f} MB = {peak / float32_bytes:.2f}x; {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60_000, help="images of 32x32x3 in the .npz")
    parser.add_argument("--csv-rows", type=int, default=100_000, help="rows of 100 features in the CSV")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        npz = Path(folder) / "images_nhwc.npz"
        x = rng.integers(0, 256, (args.samples, 32, 32, 3), dtype=np.uint8).astype(np.float32)
        np.savez(npz, x=x, y=np.arange(args.samples) % 10)
        del x
        measure(npz, args.samples * 32 * 32 * 3 * 4)
        csv = Path(folder) / "features.csv"
        features = rng.random((args.csv_rows, 100), dtype=np.float32).round(4)
        np.savetxt(csv, np.column_stack([features, np.arange(args.csv_rows) % 10]), fmt="%g", delimiter=",",
                   header=",".join([*(f"f{i}" for i in range(100)), "label"]), comments="")
        del features
        measure(csv, args.csv_rows * 100 * 4)


if __name__ == "__main__":
    main()

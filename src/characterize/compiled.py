"""Compiled loops built ahead of time, so that a short command does not start numba.

numba compiles our loops just in time and caches them on disk, yet its import and
the first call of a cached loop still cost about 0.5 s of CPU in every process:
more than `dse simulate` spends simulating 100,000 transitions of an 8-bit
multiplier. `python -m characterize.build_loops` (which `make` runs) compiles the
loops of that path with numba's ahead-of-time compiler (`numba.pycc`, which needs
a C compiler) into the extension module `characterize._loops`, and records beside
it the SHA-256 of each source file it was built from, each loop's argument
types and the numpy version it was built against.

`loop(name, jit_module)` answers the built function while every recorded source
is unchanged and numpy is the recorded version, else the just-in-time one of
the module that `jit_module()` imports: when nothing was built, when it was
built from other sources or against another numpy, and for a call whose
argument types differ from the build's (checked per call). Either gives the
same results: both are compiled from the same Python functions. A built loop
holds the GIL, so runs on several threads call the just-in-time loops.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Mapping
from functools import cache
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from types import ModuleType

import numpy as np

from cells.files import write_text

PACKAGE = Path(__file__).resolve().parent
MODULE = "_loops"  # the extension module, characterize._loops
RECORD = PACKAGE / f"{MODULE}.json"  # sources {file relative to the package: SHA-256}, loops' argument types, numpy


def loop(name: str, jit_module: Callable[[], ModuleType]) -> Callable:
    """The loop `name` of the ahead-of-time build when it is current, else `name` of the module `jit_module()`
    imports (numba's), imported at the first call that needs it.

    A built loop trusts its arguments' types (a wrong one would be read as the
    declared one), so each call is checked against the build's signature first.
    """
    found = _build()
    built = getattr(found[0], name, None) if found else None
    signature = found[1].get(name) if found else None

    def run(*args):
        if built is not None and _matches(args, signature):
            return built(*args)
        return getattr(jit_module(), name)(*args)

    run.__doc__ = f"{name}: {'built ahead of time' if built is not None else 'compiled just in time'}"
    return run


def is_built(name: str) -> bool:
    """Whether `loop(name, ...)` answers the ahead-of-time build (for the argument types it was built for)."""
    found = _build()
    return bool(found) and hasattr(found[0], name)


def _matches(args: tuple, signature: list) -> bool:
    """Whether `args` have the build's argument types: "int", "bool", or [dtype, dimensions] of an aligned,
    writeable, C-contiguous array."""
    if len(args) != len(signature):
        return False
    for value, kind in zip(args, signature):
        if kind == "bool":
            ok = isinstance(value, (bool, np.bool_))
        elif kind == "int":
            ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        else:
            dtype, dimensions = kind
            ok = (isinstance(value, np.ndarray) and value.dtype == np.dtype(dtype) and value.ndim == dimensions
                  and value.flags.c_contiguous and value.flags.aligned and value.flags.writeable)
        if not ok:
            return False
    return True


@cache
def _build() -> tuple[ModuleType, dict[str, list]] | None:
    """(extension module, argument types per loop) when it exists and was built from the present sources against
    the present numpy."""
    if not any((PACKAGE / f"{MODULE}{suffix}").exists() for suffix in EXTENSION_SUFFIXES):
        return None
    try:
        record = json.loads(RECORD.read_text())
        sources, signatures = record["sources"], record["loops"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not isinstance(sources, dict) or sources != _digests(sources) or record.get("numpy") != np.__version__:
        return None
    try:
        from characterize import _loops
    except ImportError:
        return None
    return _loops, signatures


def _digests(files: Mapping[str, object]) -> dict[str, str]:
    """SHA-256 of each file (relative to the package) as it is now; '' for a file that is gone."""
    out = {}
    for relative in files:
        path = PACKAGE / relative
        out[relative] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    return out


def build(loops: Mapping[str, tuple[Callable, object]], sources: list[Path]) -> Path:
    """Compile `loops` (export name: (numba dispatcher, numba signature)) into characterize._loops; record the
    digests of `sources`, the argument types and the numpy version.

    The record is written last, after the module: a build cut short leaves no record,
    and the just-in-time loops serve.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba marks pycc as pending deprecation
        from numba.pycc import CC

    RECORD.unlink(missing_ok=True)
    compiler = CC(MODULE)
    compiler.output_dir = str(PACKAGE)
    compiler.verbose = False
    for name, (dispatcher, signature) in loops.items():
        compiler.export(name, signature)(dispatcher.py_func)
    compiler.compile()
    relative = {str(Path(source).resolve().relative_to(PACKAGE)): "" for source in sources}
    signatures = {name: [_argument_kind(t) for t in signature.args] for name, (_, signature) in loops.items()}
    record = {"sources": _digests(relative), "loops": signatures, "numpy": np.__version__}
    write_text(RECORD, json.dumps(record, sort_keys=True) + "\n")
    return Path(compiler.output_file)


def _argument_kind(numba_type) -> str | list:
    """A numba argument type as `_matches` checks it, without numba: "int", "bool" or [dtype, dimensions]."""
    if hasattr(numba_type, "ndim"):
        if numba_type.layout != "C":
            raise ValueError(f"built loops take C-contiguous arrays, not {numba_type}")
        return [str(numba_type.dtype), numba_type.ndim]
    kind = str(numba_type)
    if kind == "bool":
        return "bool"
    if kind == "int64":
        return "int"
    raise ValueError(f"built loops take int64, bool and arrays, not {numba_type}")

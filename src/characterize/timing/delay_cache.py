"""Delay calculations kept in the user cache folder, so that a netlist simulated or timed again skips its own.

The key is the SHA-256 of everything the calculation reads: the netlist's
structure (each instance's cell and nets, the ports' nets), the digest of
every cell it uses (`Cell.digest`: pins, capacitances, every table value),
the library's wire-load model and thresholds, the input slew and output load,
the package version and the source of `cells` and `characterize`. Any change to what the delays depend on is a miss, never a
stale hit; net and instance names, which the delays do not depend on, are left
out, so two netlists that differ only in names share an entry.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields

import cells
import characterize
from cells.cache import cache_root, load_pickle, package_version, source_digest, store_pickle
from characterize.netlist.ir import Netlist
from characterize.timing.delaycalc import DelayCalculation, calculate_delays


def cached_delays(netlist: Netlist, input_slew_s: float, output_load_f: float) -> DelayCalculation:
    """`calculate_delays(netlist, input_slew_s, output_load_f)`, read from `cache_root()/delays` when it was
    computed before (a few milliseconds instead of a Python NLDM calculation over every arc)."""
    path = cache_root() / "delays" / f"{delay_key(netlist, input_slew_s, output_load_f)}.pickle"
    kept = load_pickle(path)
    if isinstance(kept, dict) and kept.keys() == _STORED:
        return DelayCalculation(netlist=netlist, **kept)
    calc = calculate_delays(netlist, input_slew_s, output_load_f)
    store_pickle(path, {name: getattr(calc, name) for name in _STORED})
    return calc


def delay_key(netlist: Netlist, input_slew_s: float, output_load_f: float) -> str:
    """The hex SHA-256 that names a netlist's delay calculation at this slew and load (see the module docstring)."""
    library = netlist.library
    used = sorted({inst.cell for inst in netlist.instances})
    content = (
        package_version(),
        source_digest(cells, characterize),
        repr(float(input_slew_s)),
        repr(float(output_load_f)),
        len(netlist.nets),
        [(port.direction, port.nets) for port in netlist.ports],
        [(inst.cell, inst.inputs, inst.outputs) for inst in netlist.instances],
        [library.cells[name].digest for name in used],
        repr(library.wire_load),
        repr(library.slew_thresholds),
    )
    return hashlib.sha256(repr(content).encode()).hexdigest()


_STORED = frozenset(f.name for f in fields(DelayCalculation)) - {"netlist"}

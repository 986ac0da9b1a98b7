"""A user's own netlist as a design to characterize per weight value.

The user names the weight and activation input ports of a structural Verilog
netlist (a multiplier, a MAC, a whole PE). `stationary` holds the weight at its
port; `embedded` ties the port to the constant and simplifies with our passes
(or yosys/ABC), then checks the result against the unembedded netlist with the
same weight on its port: on every combination of the remaining input bits when
there are at most `EXHAUSTIVE_BITS`, else on `SAMPLE_VECTORS` seeded random
vectors plus a formal proof with yosys where it is installed (the LUT's
provenance says which). A netlist with flip-flops is embedded and checked on
the logic between its registers (`clocked_embed`), the registers the weight
fixes removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cells.model import Library
from characterize.errors import NetlistError
from characterize.generators import operand_range
from characterize.netlist.ir import UNCONNECTED, Netlist
from characterize.netlist.logic import net_values
from characterize.netlist.techmap import CellMatcher
from characterize.netlist.verilog import read_verilog
from characterize.passes.clocked_embed import cut_registers, steady_registers, stitch, tie_states
from characterize.passes.embed import embed_constant
from characterize.passes.equivalence import prove_embedding
from characterize.passes.resynthesis import resynthesize, yosys_available

EXHAUSTIVE_BITS = 16
SAMPLE_VECTORS = 4096


@dataclass(frozen=True)
class NetlistDesign:
    """A user netlist with its weight and activation ports; `sha256` keys the sweep cache on its content."""

    path: str
    weight_port: str
    activation_port: str
    signed: bool = True
    top: str | None = None
    sha256: str = ""
    weight_bits: int = 0
    activation_bits: int = 0
    other_input_bits: int = 0  # input bits besides the weight (with flip-flops: and the register outputs) to check
    clock: str | None = None  # the clock port of a netlist with flip-flops
    arch: str = "netlist"

    @property
    def bits(self) -> int:
        return self.weight_bits

    @property
    def weights(self) -> range:
        return operand_range(self.weight_bits, self.signed)

    @property
    def activations(self) -> range:
        return operand_range(self.activation_bits, self.signed)

    def check_weight(self, weight: int) -> None:
        if weight not in self.weights:
            kind = "signed" if self.signed else "unsigned"
            raise NetlistError(
                f"weight {weight} is out of range for the {self.weight_bits}-bit {kind} port {self.weight_port} "
                f"of {self.path} ({self.weights.start} to {self.weights.stop - 1})"
            )

    def read(self, library: Library) -> Netlist:
        return read_verilog(self.path, library, top=self.top)

    def embedded(self, reference: Netlist, weight: int, strategy: str, matcher: CellMatcher,
                 sized: Callable[[Netlist], Netlist] | None = None) -> Netlist:
        """The netlist with the weight tied and simplified (smallest over the strategy's routes), then `sized`
        (cells resized, e.g. for delay), checked."""
        self.check_weight(weight)
        if self.clock is not None:
            return self._embedded_clocked(reference, weight, strategy, matcher, sized)
        designs = []
        ours = embed_constant(reference, self.weight_port, weight, matcher)
        if strategy != "yosys":
            designs.append(ours)
        if strategy != "simplify":
            designs.append(resynthesize(ours, reference.library, matcher))
        design = min(designs, key=lambda d: d.area)
        if sized is not None:
            design = sized(design)
        check_embedding(reference, design, self.weight_port, weight)
        return design

    def _embedded_clocked(self, reference: Netlist, weight: int, strategy: str, matcher: CellMatcher,
                          sized: Callable[[Netlist], Netlist] | None) -> Netlist:
        """`embedded` for a netlist with flip-flops: the logic between the registers simplified, the registers the
        weight fixes removed (`clocked_embed`), the core checked against the unembedded one."""
        core = cut_registers(reference)
        steady = steady_registers(reference, embed_constant(core, self.weight_port, weight, matcher))
        expected = tie_states(core, reference, steady)
        ours = embed_constant(expected, self.weight_port, weight, matcher)
        cores = ([ours] if strategy != "yosys" else []) + ([resynthesize(ours, reference.library, matcher)]
                                                            if strategy != "simplify" else [])
        chosen = min(cores, key=lambda d: d.area)
        check_embedding(expected, chosen, self.weight_port, weight, self.other_input_bits)
        design = stitch(reference, chosen, steady, f"{reference.name}_{self.weight_port}{weight}".replace("-", "m"))
        return sized(design) if sized is not None else design

    def provenance(self) -> dict:
        return {"netlist": self.path, "sha256": self.sha256, "top": self.top, "weight_port": self.weight_port,
                "activation_port": self.activation_port, "signed": self.signed, "clock": self.clock,
                "equivalence": equivalence_method(self.other_input_bits)}


def open_design(path: str | Path, library: Library, weight_port: str, activation_port: str, signed: bool = True,
                top: str | None = None, clock: str | None = None) -> tuple[NetlistDesign, Netlist]:
    """Read the netlist, check the named ports, and describe it; returns the design and the netlist."""
    path = Path(path)
    netlist = read_verilog(path, library, top=top)
    ports = {p.name: p for p in netlist.inputs}
    if netlist.register_count and clock is None:
        raise NetlistError(f"{path}: the netlist has {netlist.registers}; name the clock port with --clock")
    roles = (("weight", weight_port), ("activation", activation_port)) + ((("clock", clock),) if clock else ())
    for role, name in roles:
        if name not in ports:
            found = ", ".join(p.name for p in netlist.inputs) or "none"
            raise NetlistError(f"{path}: {role} port {name!r} is not an input of module {netlist.name} (inputs: {found})")
    if weight_port == activation_port:
        raise NetlistError(f"{path}: the weight and activation ports must differ, both are {weight_port!r}")
    other = sum(p.width for p in netlist.inputs if p.name != weight_port)
    if clock is not None:  # the logic between the registers is checked: register outputs are its inputs too
        other += sum(n != UNCONNECTED for i in netlist.instances if library.cells[i.cell].sequential for n in i.outputs)
    design = NetlistDesign(
        path=str(path.resolve()),
        weight_port=weight_port,
        activation_port=activation_port,
        signed=signed,
        top=top,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        weight_bits=ports[weight_port].width,
        activation_bits=ports[activation_port].width,
        other_input_bits=other,
        clock=clock,
    )
    return design, netlist


def equivalence_method(bits: int) -> str:
    """How `check_embedding` checks a design with `bits` input bits besides the weight (of a netlist with flip-flops:
    of the logic between its registers, their outputs counted as inputs), as the LUT records it."""
    if bits <= EXHAUSTIVE_BITS:
        return f"exhaustive over {bits} input bits"
    proof = "+ yosys SAT proof" if yosys_available() else "(yosys not found)"
    return f"{SAMPLE_VECTORS} random vectors (seed 0) over {bits} input bits {proof}"


def check_embedding(reference: Netlist, embedded: Netlist, weight_port: str, weight: int,
                    method_bits: int | None = None) -> None:
    """Raise NetlistError unless `embedded` equals `reference` with `weight_port` = `weight` on every checked vector,
    and, beyond `EXHAUSTIVE_BITS` and where yosys is installed, by a formal proof (`equivalence.prove_embedding`).

    `method_bits` (at least the input bits besides the weight) chooses the method instead of those bits, so that
    every weight of a design is checked the way its LUT records."""
    inputs = [p for p in reference.inputs if p.name != weight_port]
    bits = sum(p.width for p in inputs)
    if (bits if method_bits is None else method_bits) <= EXHAUSTIVE_BITS:
        codes = np.arange(1 << bits, dtype=np.int64)
    else:
        codes = None
    rng = np.random.default_rng(0)
    values, offset = {}, 0
    for port in inputs:
        if codes is not None:
            raw = (codes >> offset) & ((1 << port.width) - 1)
        else:
            raw = np.array([int.from_bytes(rng.bytes((port.width + 7) // 8), "little") & ((1 << port.width) - 1)
                            for _ in range(SAMPLE_VECTORS)], dtype=object)
        values[port.name] = raw
        offset += port.width
    count = len(next(iter(values.values()))) if values else 1
    want = net_values(reference, {**values, weight_port: np.full(count, weight, dtype=object)})
    got = net_values(embedded, values)
    for port in reference.outputs:
        mine = embedded.port(port.name)
        wrong = np.flatnonzero((want[list(port.nets)] != got[list(mine.nets)]).any(axis=0))
        if len(wrong):
            raise NetlistError(
                f"{embedded.name}: output {port.name} differs from {reference.name} with {weight_port} = {weight} "
                f"on {len(wrong)} of {count} vectors ({equivalence_method(bits)})"
            )
    if codes is None and yosys_available():
        prove_embedding(reference, embedded, weight_port, weight)

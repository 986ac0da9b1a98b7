"""Multiplier and MAC designs as the rest of the tool uses them: reference and weight-embedded.

The reference design is the generated multiplier after the same simplification
the embedded designs get (Baugh-Wooley and Booth constants folded), so the two
are compared on equal terms. `verify_product` proves a design computes
`a * w` (plus `acc` for a MAC) for every activation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from cells.model import Library
from characterize.choices import STRATEGIES
from characterize.errors import NetlistError
from characterize.generators import multiplier, operand_range
from characterize.generators.pe import processing_element
from characterize.netlist.ir import Netlist
from characterize.netlist.logic import evaluate
from characterize.netlist.techmap import CellMatcher
from characterize.passes.embed import embed_constant, simplify
from characterize.passes.resynthesis import resynthesize
from characterize.passes.sizing import size_cells
from characterize.timing.delays import DEFAULT_INPUT_SLEW_S, default_external_load


@dataclass(frozen=True)
class MultiplierSpec:
    """What to build: bit-width, signedness, architecture, final adder, optional accumulator width.

    With `pe`, the MAC (accumulator `mac_bits` wide) is wrapped into the clocked
    systolic-array processing element of `generators.pe`.
    """

    bits: int
    signed: bool = True
    arch: str = "array"
    adder: str = "ripple"
    mac_bits: int | None = None
    pe: bool = False

    def __post_init__(self):
        if self.pe and self.mac_bits is None:
            raise NetlistError("a processing element needs the accumulator width (mac_bits)")

    @property
    def weights(self) -> range:
        """Every representable weight value."""
        return operand_range(self.bits, self.signed)

    @property
    def output_bits(self) -> int:
        return self.mac_bits or 2 * self.bits

    def check_weight(self, weight: int) -> None:
        if weight not in self.weights:
            kind = "signed" if self.signed else "unsigned"
            raise NetlistError(
                f"weight {weight} is out of range for a {self.bits}-bit {kind} multiplier "
                f"({self.weights.start} to {self.weights.stop - 1})"
            )


def reference_design(spec: MultiplierSpec, library: Library, matcher: CellMatcher | None = None) -> Netlist:
    """The generated multiplier (or MAC), simplified; or the processing element around it."""
    if spec.pe:
        return pe_design(spec, library, matcher)
    raw = multiplier(spec.bits, spec.signed, spec.arch, spec.adder, library, spec.mac_bits, matcher=matcher)
    return simplify(raw, matcher)


def pe_design(spec: MultiplierSpec, library: Library, matcher: CellMatcher | None = None, weight: int | None = None,
              strategy: str = "simplify", sized: Callable[[Netlist], Netlist] | None = None) -> Netlist:
    """The processing element of `spec`, with the weight embedded into its MAC (checked) when `weight` is given;
    `sized` resizes the MAC's cells (for delay) before the registers are placed around it."""
    mac_spec = replace(spec, pe=False)
    mac = reference_design(mac_spec, library, matcher)
    name = f"pe{spec.bits}{'s' if spec.signed else 'u'}_{spec.arch}_{spec.adder}_acc{spec.mac_bits}"
    if weight is not None:
        mac = smallest(embedded_designs(mac, mac_spec, weight, strategy, matcher))
        name += f"_w{weight}".replace("-", "m")
    if sized is not None:
        mac = sized(mac)
    if weight is not None:
        verify_product(mac, mac_spec, weight=weight)
    return processing_element(mac, spec.bits, spec.mac_bits, name)


def embedded_design(reference: Netlist, spec: MultiplierSpec, weight: int, matcher: CellMatcher | None = None) -> Netlist:
    """The multiplier with the weight fixed to `weight` and simplified: the smaller of two ways.

    Tying the reference's `w` port to the constant and simplifying works on
    the gates; generating the multiplier with the constant weight also folds
    the constant partial products into the adder tree's constant offset (for
    Baugh-Wooley and Booth, constants that a gate-level pass sees only spread
    over many columns), and is then simplified the same way.
    """
    spec.check_weight(weight)
    tied = embed_constant(reference, "w", weight, matcher)
    generated = simplify(
        multiplier(spec.bits, spec.signed, spec.arch, spec.adder, reference.library, spec.mac_bits, weight=weight,
                   matcher=matcher),
        matcher,
    )
    return min((tied, generated), key=lambda design: design.area)


def embedded_designs(reference: Netlist, spec: MultiplierSpec, weight: int, strategy: str = "simplify",
                     matcher: CellMatcher | None = None) -> dict[str, Netlist]:
    """The weight-embedded design by strategy: our passes ("simplify"), yosys/ABC ("yosys"), or both ("best")."""
    if strategy not in STRATEGIES:
        raise NetlistError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    ours = embedded_design(reference, spec, weight, matcher)
    designs = {}
    if strategy != "yosys":
        designs["simplify"] = ours
    if strategy != "simplify":
        designs["yosys"] = resynthesize(ours, reference.library, matcher)
    return designs


def smallest(designs: dict[str, Netlist]) -> Netlist:
    """The design of least area (the first on a tie)."""
    return min(designs.values(), key=lambda d: d.area)


@dataclass(frozen=True, eq=False)
class BuiltNetlist:
    """A netlist as `build_netlist` gives it: `design` to write, the `reference` (no embedded weight) it is compared
    with, `mapped` (`design` before sizing; the reference for a processing element) and, with a weight, each
    embedding strategy's result (`candidates`, of which `mapped` is the smallest; empty for a processing element)."""

    design: Netlist
    reference: Netlist
    mapped: Netlist
    candidates: dict[str, Netlist]


def build_netlist(spec: MultiplierSpec, library: Library, matcher: CellMatcher, weight: int | None = None,
                  strategy: str = "simplify", size_for: str = "area") -> BuiltNetlist:
    """The multiplier, MAC or processing element of `spec`; with `weight`, weight-embedded (the smallest of the
    `strategy`'s routes; a processing element's MAC) and checked against `a * w`; cells sized by `size_for`
    (`passes.sizing`, at the default input slew and the library's output load)."""
    sized = None
    if size_for != "area":
        sized = partial(size_cells, matcher=matcher, size_for=size_for, input_slew_s=DEFAULT_INPUT_SLEW_S,
                        output_load_f=default_external_load(library))
    reference = reference_design(spec, library, matcher)
    design = mapped = reference
    candidates: dict[str, Netlist] = {}
    if spec.pe:
        if weight is not None:
            spec.check_weight(weight)
        if weight is not None or sized:
            design = pe_design(spec, library, matcher, weight, strategy, sized)
        return BuiltNetlist(design, reference, mapped, candidates)
    if weight is not None:
        candidates = embedded_designs(reference, spec, weight, strategy, matcher)
        design = mapped = smallest(candidates)
    if sized:
        design = sized(mapped)
    if weight is not None:
        verify_product(design, spec, weight=weight)
    return BuiltNetlist(design, reference, mapped, candidates)


def expected_output(spec: MultiplierSpec, a: np.ndarray, w: np.ndarray, acc: np.ndarray | None = None) -> np.ndarray:
    """What the design must compute, in the output's own interpretation (two's complement when signed)."""
    value = a.astype(np.int64) * w.astype(np.int64)
    if spec.mac_bits:
        value = value + acc
    width = spec.output_bits
    value = value & ((1 << width) - 1)
    if spec.signed:
        value = np.where(value >> (width - 1), value - (1 << width), value)
    return value


def all_activations(spec: MultiplierSpec) -> np.ndarray:
    """Every activation value of the spec's width."""
    return np.arange(spec.weights.start, spec.weights.stop, dtype=np.int64)


def verify_product(design: Netlist, spec: MultiplierSpec, weight: int | None = None, a: np.ndarray | None = None,
                   w: np.ndarray | None = None, acc: np.ndarray | None = None) -> None:
    """Raise NetlistError unless the design computes a*w (+acc) on the given or all activations.

    With `weight` set, the design is weight-embedded (no `w` port) and every
    activation is checked when `a` is None; otherwise `a` and `w` are given.
    """
    if a is None:
        a = all_activations(spec)
    if weight is not None:
        w = np.full(len(a), weight, dtype=np.int64)
    inputs = {"a": a}
    if weight is None:
        inputs["w"] = w
    if spec.mac_bits:
        inputs["acc"] = acc if acc is not None else np.zeros(len(a), dtype=np.int64)
    got = evaluate(design, inputs, signed=spec.signed)["y"]
    want = expected_output(spec, a, w, inputs.get("acc"))
    bad = np.flatnonzero(got != want)
    if len(bad):
        i = bad[0]
        raise NetlistError(
            f"{design.name}: y = {got[i]} for a = {a[i]}, w = {w[i]}, expected {want[i]} ({len(bad)} of {len(a)} vectors wrong)"
        )

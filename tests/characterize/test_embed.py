"""Weight embedding: every simplified multiplier computes a*w, and simplification really shrinks it."""

from __future__ import annotations

import numpy as np
import pytest

from characterize.errors import NetlistError
from characterize.generators import ARCHITECTURES
from characterize.netlist.logic import evaluate
from characterize.netlist.techmap import CellMatcher
from characterize.passes.designs import (
    MultiplierSpec,
    build_netlist,
    embedded_design,
    reference_design,
    verify_product,
)
from characterize.passes.embed import embed_constant, simplify


@pytest.fixture(scope="module")
def matcher(library):
    return CellMatcher(library)


def extremes(spec: MultiplierSpec) -> list[int]:
    if spec.signed:
        return [-(1 << (spec.bits - 1)), -1, 0, 1, (1 << (spec.bits - 1)) - 1]
    return [0, 1, (1 << spec.bits) - 1]


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("bits", [2, 4, 6, 8])
def test_every_embedded_weight_computes_the_product(bits, signed, arch, library, matcher):
    spec = MultiplierSpec(bits, signed, arch)
    reference = reference_design(spec, library, matcher)
    for weight in spec.weights:
        design = embedded_design(reference, spec, weight, matcher)
        assert "w" not in {p.name for p in design.ports}
        verify_product(design, spec, weight=weight)


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
@pytest.mark.parametrize("bits", [12, 16])
def test_wide_embedded_weights_on_a_sample(bits, signed, arch, library, matcher):
    spec = MultiplierSpec(bits, signed, arch, adder="cla" if bits == 12 else "ripple")
    rng = np.random.default_rng(bits * 7 + signed)
    weights = sorted(set(extremes(spec)) | {int(w) for w in rng.integers(spec.weights.start, spec.weights.stop, 2)})
    activations = np.concatenate(
        [np.array(extremes(spec)), rng.integers(spec.weights.start, spec.weights.stop, 2000)]
    ).astype(np.int64)
    reference = reference_design(spec, library, matcher)
    for weight in weights:
        verify_product(embedded_design(reference, spec, weight, matcher), spec, weight=weight, a=activations)


@pytest.mark.parametrize("arch", ["array", "booth"])
def test_embedded_mac_adds_the_accumulator(arch, library, matcher):
    spec = MultiplierSpec(4, True, arch, mac_bits=12)
    reference = reference_design(spec, library, matcher)
    rng = np.random.default_rng(3)
    a = np.repeat(np.arange(-8, 8), 32)
    acc = rng.integers(-(1 << 11), 1 << 11, len(a))
    acc[:2] = [-(1 << 11), (1 << 11) - 1]
    for weight in (-8, -3, 0, 5, 7):
        verify_product(embedded_design(reference, spec, weight, matcher), spec, weight=weight, a=a, acc=acc)


def test_verification_catches_a_wrong_design(library, matcher):
    spec = MultiplierSpec(4, True, "array")
    reference = reference_design(spec, library, matcher)
    wrong = embedded_design(reference, spec, 3, matcher)
    with pytest.raises(NetlistError, match="expected"):
        verify_product(wrong, spec, weight=5)


def test_embedding_shrinks_the_multiplier(library, matcher):
    spec = MultiplierSpec(8, True, "array")
    reference = reference_design(spec, library, matcher)
    areas = [embedded_design(reference, spec, w, matcher).area for w in spec.weights]
    assert max(areas) < reference.area
    zero = embedded_design(reference, spec, 0, matcher)
    assert len(zero.instances) == 0
    power_of_two = embedded_design(reference, spec, 4, matcher)
    assert power_of_two.area < 0.25 * reference.area


def test_simplify_is_idempotent(library, matcher):
    spec = MultiplierSpec(6, True, "wallace")
    design = embedded_design(reference_design(spec, library, matcher), spec, -11, matcher)
    again = simplify(design, matcher)
    assert len(again.instances) == len(design.instances)
    assert again.area == pytest.approx(design.area)


def test_two_bit_signed_weight_minus_two(library, matcher):
    """y = -2a: only the sign bits need logic; embedding removes most of the multiplier."""
    spec = MultiplierSpec(2, True, "array")
    reference = reference_design(spec, library, matcher)
    design = embedded_design(reference, spec, -2, matcher)
    verify_product(design, spec, weight=-2)
    assert design.area < 0.5 * reference.area
    assert design.transistors < 0.5 * reference.transistors


def test_out_of_range_weight_is_rejected(library, matcher):
    spec = MultiplierSpec(4, True, "array")
    reference = reference_design(spec, library, matcher)
    with pytest.raises(NetlistError, match="out of range"):
        embedded_design(reference, spec, 8, matcher)
    with pytest.raises(NetlistError, match="does not fit"):
        embed_constant(reference, "w", 16, matcher)


def test_constant_full_adder_input_is_folded_away(library, matcher):
    from characterize.netlist.builder import NetlistBuilder

    builder = NetlistBuilder("t", library, matcher)
    a = builder.input("a", 2)
    s, c = builder.gate("FA", a[0], a[1], 1)
    builder.output("y", [s, c])
    design = simplify(builder.build(), matcher)
    values = np.arange(4)
    got = evaluate(design, {"a": values})["y"]
    want = [((v & 1) + (v >> 1) + 1) % 4 for v in values]
    assert list(got) == want
    assert all(net not in (0, 1) for inst in design.instances for net in inst.inputs)
    assert design.area < library.cells[matcher.role("FA").cell].area


def test_build_netlist_embeds_checks_and_keeps_the_reference(library):
    """`build_netlist`: the reference alone, or the smallest embedding (checked) beside the reference; a PE's MAC."""
    matcher = CellMatcher(library)
    spec = MultiplierSpec(4, True, "booth")
    plain = build_netlist(spec, library, matcher)
    assert plain.design is plain.reference is plain.mapped and plain.candidates == {}
    built = build_netlist(spec, library, matcher, weight=-3)
    assert set(built.candidates) == {"simplify"} and built.design is built.mapped is built.candidates["simplify"]
    assert built.design.area < built.reference.area and "w" not in {p.name for p in built.design.inputs}
    verify_product(built.design, spec, weight=-3)
    sized = build_netlist(spec, library, matcher, weight=-3, size_for="delay")  # one size per function here
    assert sized.design.area == pytest.approx(built.design.area)
    pe = build_netlist(MultiplierSpec(4, True, "array", mac_bits=10, pe=True), library, matcher, weight=5)
    assert pe.design.register_count and pe.design.area < pe.reference.area and pe.candidates == {}
    with pytest.raises(NetlistError, match="weight 8 is out of range"):
        build_netlist(spec, library, matcher, weight=8)

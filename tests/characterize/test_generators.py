"""Multiplier and MAC generators: every architecture, adder and signedness against integer arithmetic."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from characterize.errors import GeneratorError
from characterize.generators import ADDERS, ARCHITECTURES, multiplier, operand_range
from characterize.generators.gates import Gates
from characterize.generators.reduction import dadda_heights
from characterize.netlist.builder import NetlistBuilder
from characterize.netlist.ir import CONST0, CONST1, Netlist
from characterize.netlist.logic import evaluate, net_values
from characterize.netlist.techmap import ROLES

DESIGNS = list(product(ARCHITECTURES, ADDERS, (True, False)))
DESIGN_IDS = [f"{arch}-{adder}-{'s' if signed else 'u'}" for arch, adder, signed in DESIGNS]


def operand_bounds(bits: int, signed: bool) -> tuple[int, int]:
    """Smallest and largest operand value."""
    values = operand_range(bits, signed)
    return values[0], values[-1]


def all_pairs(bits: int, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    low, high = operand_bounds(bits, signed)
    a, w = np.meshgrid(np.arange(low, high + 1), np.arange(low, high + 1))
    return a.ravel(), w.ravel()


def extremes(bits: int, signed: bool) -> list[int]:
    low, high = operand_bounds(bits, signed)
    return [low, -1, 0, 1, high] if signed else [0, 1, high]


def sampled_pairs(bits: int, signed: bool, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random pairs plus every combination of the extreme values."""
    low, high = operand_bounds(bits, signed)
    rng = np.random.default_rng(seed)
    corners = np.array(list(product(extremes(bits, signed), repeat=2)))
    a = np.concatenate([rng.integers(low, high + 1, count), corners[:, 0]])
    w = np.concatenate([rng.integers(low, high + 1, count), corners[:, 1]])
    return a, w


def check_product(netlist: Netlist, signed: bool, a: np.ndarray, w: np.ndarray) -> None:
    y = evaluate(netlist, {"a": a, "w": w}, signed=signed)["y"]
    expected = a.astype(np.int64) * w.astype(np.int64)
    wrong = np.flatnonzero(y != expected)
    assert wrong.size == 0, (
        f"{netlist.name}: {wrong.size} wrong products, e.g. a={a[wrong[0]]} w={w[wrong[0]]}: "
        f"got {y[wrong[0]]}, expected {expected[wrong[0]]}"
    )


@pytest.mark.parametrize("bits", [2, 4, 6])
@pytest.mark.parametrize(("arch", "adder", "signed"), DESIGNS, ids=DESIGN_IDS)
def test_small_multipliers_are_exact_for_every_pair(library, bits, arch, adder, signed):
    netlist = multiplier(bits, signed, arch, adder, library)
    check_product(netlist, signed, *all_pairs(bits, signed))


@pytest.mark.parametrize(("arch", "adder", "signed"), DESIGNS, ids=DESIGN_IDS)
def test_8bit_multipliers_are_exact_for_every_pair(library, arch, adder, signed):
    netlist = multiplier(8, signed, arch, adder, library)
    check_product(netlist, signed, *all_pairs(8, signed))


@pytest.mark.parametrize("bits", [12, 16])
@pytest.mark.parametrize(("arch", "adder", "signed"), DESIGNS, ids=DESIGN_IDS)
def test_wide_multipliers_are_exact_on_samples_and_extremes(library, bits, arch, adder, signed):
    netlist = multiplier(bits, signed, arch, adder, library)
    check_product(netlist, signed, *sampled_pairs(bits, signed, 20000, seed=bits))


@pytest.mark.parametrize(("bits", "mac_bits"), [(4, 20), (8, 24)])
@pytest.mark.parametrize(("arch", "adder", "signed"), DESIGNS, ids=DESIGN_IDS)
def test_mac_adds_the_product_to_the_accumulator_modulo_its_width(library, bits, mac_bits, arch, adder, signed):
    netlist = multiplier(bits, signed, arch, adder, library, mac_bits=mac_bits)
    modulus = 1 << mac_bits
    acc_extremes = [0, 1, modulus - 1, modulus // 2, modulus // 2 - 1, modulus - (1 << (2 * bits))]
    rng = np.random.default_rng(mac_bits)
    a, w = all_pairs(bits, signed) if bits == 4 else sampled_pairs(bits, signed, 2000, seed=bits)
    corners = np.array(list(product(extremes(bits, signed), extremes(bits, signed), acc_extremes)))
    random_acc = rng.integers(0, modulus, a.size)
    a = np.concatenate([a, a, corners[:, 0]])
    w = np.concatenate([w, w, corners[:, 1]])
    acc = np.concatenate([random_acc, np.resize(acc_extremes, random_acc.size), corners[:, 2]])
    y = evaluate(netlist, {"a": a, "w": w, "acc": acc}, signed=False)["y"]
    expected = (acc + a * w) % modulus
    wrong = np.flatnonzero(y != expected)
    assert wrong.size == 0, (
        f"{netlist.name}: {wrong.size} wrong sums, e.g. acc={acc[wrong[0]]} a={a[wrong[0]]} w={w[wrong[0]]}: "
        f"got {y[wrong[0]]}, expected {expected[wrong[0]]}"
    )


def test_ports_and_names(library):
    netlist = multiplier(8, True, "booth", "cla", library, mac_bits=24)
    assert netlist.name == "mac8s24_booth_cla"
    assert [(p.name, p.direction, p.width) for p in netlist.ports] == [
        ("a", "input", 8),
        ("w", "input", 8),
        ("acc", "input", 24),
        ("y", "output", 24),
    ]
    plain = multiplier(6, False, "array", "ripple", library)
    assert plain.name == "mul6u_array_ripple"
    assert [(p.name, p.width) for p in plain.ports] == [("a", 6), ("w", 6), ("y", 12)]


def test_default_library_is_used_when_none_is_given():
    assert multiplier(2).library.cells


@pytest.mark.parametrize(("arch", "adder", "signed"), DESIGNS, ids=DESIGN_IDS)
def test_no_gate_is_fed_a_constant(library, arch, adder, signed):
    for mac_bits in (None, 16):
        netlist = multiplier(6, signed, arch, adder, library, mac_bits=mac_bits)
        fed = [inst.name for inst in netlist.instances if set(inst.inputs) & {CONST0, CONST1}]
        assert not fed, f"{netlist.name}: instances with constant inputs: {fed}"


def logic_depth(netlist: Netlist) -> int:
    """Gates on the longest input-to-output path."""
    depth = np.zeros(len(netlist.nets), dtype=int)
    for index in netlist.order:
        inst = netlist.instances[index]
        level = 1 + max(depth[net] for net in inst.inputs)
        for net in inst.outputs:
            if net >= 0:
                depth[net] = level
    return int(max(depth[net] for net in netlist.port("y").nets))


def test_trees_are_shallower_than_the_array(library):
    depth = {arch: logic_depth(multiplier(16, True, arch, "cla", library)) for arch in ARCHITECTURES}
    for tree in ("wallace", "dadda", "booth"):
        assert depth[tree] + 4 <= depth["array"], depth
    assert logic_depth(multiplier(16, True, "dadda", "cla", library)) < logic_depth(
        multiplier(16, True, "dadda", "ripple", library)
    )


def test_dadda_uses_fewer_half_adders_than_wallace(library):
    def half_adders(arch: str) -> int:
        netlist = multiplier(8, False, arch, "ripple", library)
        return sum(n for cell, n in netlist.cell_counts.items() if netlist.library.cells[cell].area == 12.512)

    assert half_adders("dadda") < half_adders("wallace")


def test_dadda_heights():
    assert dadda_heights(3) == [2]
    assert dadda_heights(16) == [13, 9, 6, 4, 3, 2]
    assert dadda_heights(13) == [9, 6, 4, 3, 2]


REFERENCE = {
    "INV": lambda a: 1 - a,
    "BUF": lambda a: a,
    "NAND2": lambda a, b: 1 - (a & b),
    "NAND3": lambda a, b, c: 1 - (a & b & c),
    "NOR2": lambda a, b: 1 - (a | b),
    "NOR3": lambda a, b, c: 1 - (a | b | c),
    "AND2": lambda a, b: a & b,
    "AND3": lambda a, b, c: a & b & c,
    "OR2": lambda a, b: a | b,
    "OR3": lambda a, b, c: a | b | c,
    "XOR2": lambda a, b: a ^ b,
    "XNOR2": lambda a, b: 1 - (a ^ b),
    "AOI21": lambda a, b, c: 1 - ((a & b) | c),
    "OAI21": lambda a, b, c: 1 - ((a | b) & c),
    "AOI22": lambda a, b, c, d: 1 - ((a & b) | (c & d)),
    "MUX2": lambda a, b, c: b if c else a,
    "MAJ3": lambda a, b, c: int(a + b + c >= 2),
    "HA": lambda a, b: (a ^ b, a & b),
    "FA": lambda a, b, c: (a ^ b ^ c, int(a + b + c >= 2)),
}


def test_reference_covers_every_role():
    assert set(REFERENCE) == set(ROLES)


# MUX2 with a constant data input leaves x & !s or x | !s, which no role computes.
UNFOLDABLE = {"MUX2"}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_folded_gates_compute_the_role_for_constant_and_repeated_inputs(library, role):
    """Every way of tying a role's inputs to 0, 1, x, y or z gives the role's function."""
    builder = NetlistBuilder("fold", library)
    free = builder.input("v", 3)
    gates = Gates(builder)
    arity = REFERENCE[role].__code__.co_argcount
    cases = []
    for inputs in product((CONST0, CONST1, *free), repeat=arity):
        outputs = gates.gate(role, *inputs)
        cases.append((inputs, outputs if isinstance(outputs, tuple) else (outputs,)))
    netlist = builder.build()
    values = net_values(netlist, {"v": np.arange(8)})
    for vector in range(8):
        bit = {CONST0: 0, CONST1: 1} | {net: (vector >> j) & 1 for j, net in enumerate(free)}
        for inputs, outputs in cases:
            expected = REFERENCE[role](*(bit[n] for n in inputs))
            expected = expected if isinstance(expected, tuple) else (expected,)
            got = tuple(int(values[net, vector]) for net in outputs)
            assert got == expected, f"{role}{inputs} at v={vector:03b}"
    if role not in UNFOLDABLE:
        assert not [inst for inst in netlist.instances if {CONST0, CONST1} & set(inst.inputs)]


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"bits": 1}, "bits"),
        ({"bits": 17}, "bits"),
        ({"bits": 8.0}, "bits"),
        ({"bits": True}, "bits"),
        ({"bits": 8, "signed": "yes"}, "signed"),
        ({"bits": 8, "arch": "carry-save"}, "arch"),
        ({"bits": 8, "adder": "kogge"}, "adder"),
        ({"bits": 8, "mac_bits": 15}, "mac_bits"),
        ({"bits": 8, "mac_bits": 65}, "mac_bits"),
        ({"bits": 8, "mac_bits": 24.0}, "mac_bits"),
    ],
)
def test_bad_parameters_name_the_parameter_and_value(library, kwargs, parameter):
    with pytest.raises(GeneratorError, match=rf"^{parameter} must be .*got {kwargs[parameter]!r}"):
        multiplier(library=library, **kwargs)


def test_role_tables_equal_the_liberty_function_parser():
    from cells.functions import truth_table
    from characterize.netlist.techmap import ROLE_INPUTS, ROLES, role_truth_table

    for functions in ROLES.values():
        for function in functions:
            for k in range(len(ROLE_INPUTS)):
                inputs = tuple(ROLE_INPUTS[: k + 1])
                if set(function) & set(ROLE_INPUTS) <= set(inputs):
                    assert role_truth_table(function, inputs) == truth_table(function, inputs), function

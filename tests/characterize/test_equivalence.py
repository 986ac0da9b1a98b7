"""Beyond 16 input bits an embedded netlist is checked on random vectors and proven equal with yosys."""

from __future__ import annotations

import re

import numpy as np
import pytest

from characterize.errors import NetlistError
from characterize.netlist.ir import Instance, Netlist
from characterize.netlist.logic import net_values
from characterize.netlist.techmap import CellMatcher
from characterize.passes.embed import embed_constant
from characterize.passes.equivalence import prove_embedding
from characterize.passes.netlist_design import check_embedding, equivalence_method
from dse.cli import main
from tests.conftest import require_tool

WEIGHT = -5


@pytest.fixture(scope="module")
def mac(tmp_path_factory, library):
    """A 4-bit MAC with a 16-bit accumulator: 20 input bits besides the weight."""
    path = tmp_path_factory.mktemp("design") / "mac.v"
    assert main(["netlist", "--bits", "4", "--mac", "16", "-o", str(path)]) == 0
    from characterize.netlist.verilog import read_verilog

    return read_verilog(path, library)


def with_rare_flip(netlist: Netlist, matcher: CellMatcher) -> Netlist:
    """`netlist` with output bit y[0] inverted when every input bit is 1: one vector in 2**20, which 4096 random
    vectors almost surely miss."""
    nets = list(netlist.nets)
    instances = list(netlist.instances)

    def gate(role: str, *inputs: int) -> int:
        match = matcher.role(role)
        nets.append(f"flip{len(nets)}")
        instances.append(Instance(f"flip{len(instances)}", match.cell, tuple(inputs[s] for s in match.sources),
                                  (len(nets) - 1,)))
        return len(nets) - 1

    bits = [net for port in netlist.inputs for net in port.nets]
    while len(bits) > 1:
        bits = [gate("AND2", *bits[i:i + 2]) if i + 1 < len(bits) else bits[i] for i in range(0, len(bits), 2)]
    y0 = netlist.port("y").nets[0]
    driver = int(netlist.driver[y0])
    nets.append("y0_raw")
    raw = len(nets) - 1
    old = instances[driver]
    instances[driver] = Instance(old.name, old.cell, old.inputs, tuple(raw if n == y0 else n for n in old.outputs))
    match = matcher.role("XOR2")
    instances.append(Instance("flip_y0", match.cell, tuple((raw, bits[0])[s] for s in match.sources), (y0,)))
    return Netlist(netlist.name, netlist.library, nets, netlist.ports, instances, netlist.vectors)


def test_wide_embedding_is_proven_and_the_method_recorded(mac):
    require_tool("yosys")
    assert equivalence_method(20) == "4096 random vectors (seed 0) over 20 input bits + yosys SAT proof"
    check_embedding(mac, embed_constant(mac, "w", WEIGHT), "w", WEIGHT)


def test_yosys_counterexample_is_a_real_difference(mac, library):
    require_tool("yosys")
    embedded = embed_constant(mac, "w", WEIGHT)
    instances = list(embedded.instances)
    k = next(i for i, inst in enumerate(instances) if inst.cell == "sky130_fd_sc_hd__xor2_1")
    instances[k] = Instance(instances[k].name, "sky130_fd_sc_hd__xnor2_1", instances[k].inputs, instances[k].outputs)
    broken = Netlist(embedded.name, library, embedded.nets, embedded.ports, instances, embedded.vectors)
    with pytest.raises(NetlistError, match=r"the outputs differ \(yosys SAT counterexample") as caught:
        prove_embedding(mac, broken, "w", WEIGHT)
    shown = dict(re.findall(r"(\w+) = (\d+)", str(caught.value).split("inputs: ")[1]))
    vector = {name: np.array([int(value)], dtype=object) for name, value in shown.items()}
    assert set(vector) == {"a", "acc"}
    want = net_values(mac, {**vector, "w": np.array([WEIGHT], dtype=object)})[list(mac.port("y").nets)]
    got = net_values(broken, vector)[list(broken.port("y").nets)]
    assert (want != got).any()


def test_a_rare_difference_escapes_the_sample_but_not_the_proof(mac, library, monkeypatch):
    require_tool("yosys")
    rare = with_rare_flip(embed_constant(mac, "w", WEIGHT), CellMatcher(library))
    with pytest.raises(NetlistError, match=r"yosys SAT counterexample, unsigned inputs: a = 15, acc = 65535\)"):
        check_embedding(mac, rare, "w", WEIGHT)
    monkeypatch.setenv("PATH", "")  # no yosys: only the random sample checks, and misses it
    assert equivalence_method(20) == "4096 random vectors (seed 0) over 20 input bits (yosys not found)"
    check_embedding(mac, rare, "w", WEIGHT)

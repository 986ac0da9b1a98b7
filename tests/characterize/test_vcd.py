"""VCD waveforms written with pyvcd: read back with pyvcd's reader (header, scopes, every port bit, buses as
vectors) and the same value changes as Icarus Verilog's dump of the timed netlist replay, per port bit (from our
vector and from our bit) and per net."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from vcd.reader import TokenKind, tokenize

from characterize.netlist.builder import NetlistBuilder
from characterize.netlist.ir import CONST_NAMES, Netlist
from characterize.netlist.logic import net_values
from characterize.netlist.verilog import port_bit, read_verilog
from characterize.timing.delays import annotate_delays
from characterize.timing.sim import simulate
from characterize.timing.timed_verilog import module_name, run_iverilog, wire_name
from characterize.timing.vcd import net_scope, write_vcd
from tests.characterize.test_sim import random_netlist
from tests.conftest import require_tool

HIERARCHICAL = (
    "module half (a, b, s, c);\n  input a, b;\n  output s, c;\n  wire k;\n"
    "  sky130_fd_sc_hd__xor2_1 x (.A(a), .B(b), .X(k));\n  sky130_fd_sc_hd__inv_1 i (.A(k), .Y(s));\n"
    "  sky130_fd_sc_hd__and2_1 n (.A(a), .B(b), .X(c));\nendmodule\n"
    "module top (p, q, r, y);\n  input p, q, r;\n  output [3:0] y;\n  wire t, u;\n  wire \\g.h.z ;\n"
    "  half h1 (.a(p), .b(q), .s(t), .c(u));\n  half h2 (t, r, y[0], y[1]);\n"
    "  sky130_fd_sc_hd__inv_1 w (.A(u), .Y(\\g.h.z ));\n  assign y[2] = \\g.h.z ;\n  assign y[3] = q;\nendmodule\n"
)


@dataclass
class Dump:
    """A VCD read with pyvcd's tokenizer: header texts, variables by full dotted reference, changes per code."""

    header: dict[TokenKind, str] = field(default_factory=dict)
    variables: dict[str, tuple[str, int]] = field(default_factory=dict)  # reference -> (code, size)
    changes: dict[str, list[tuple[int, int | str]]] = field(default_factory=dict)

    def bit_changes(self, reference: str, bit: int = 0, since: int = 0) -> list[tuple[int, str]]:
        """(time, value) of each change of one bit of a variable from time `since` on."""
        code, size = self.variables[reference]
        found, last = [], None
        for time, value in self.changes.get(code, []):
            text = format(value, f"0{size}b") if isinstance(value, int) else value
            text = text.rjust(size, text[0] if text[0] in "xz" else "0")
            now = text[size - 1 - bit]
            if now != last and time >= since:
                found.append((time, now))
            last = now
        return found


def read_dump(path: Path) -> Dump:
    dump, scopes, time = Dump(), [], 0
    with open(path, "rb") as stream:
        for token in tokenize(stream):
            if token.kind in (TokenKind.DATE, TokenKind.VERSION):
                dump.header[token.kind] = token.data.strip()
            elif token.kind is TokenKind.TIMESCALE:
                dump.header[token.kind] = str(token.data)
            elif token.kind is TokenKind.SCOPE:
                scopes.append(token.data.ident)
            elif token.kind is TokenKind.UPSCOPE:
                scopes.pop()
            elif token.kind is TokenKind.VAR:
                name = ".".join([*scopes, token.data.ref_str.lstrip("\\")])
                dump.variables[name] = (token.data.id_code, token.data.size)
            elif token.kind is TokenKind.CHANGE_TIME:
                time = token.data
            elif token.kind in (TokenKind.CHANGE_SCALAR, TokenKind.CHANGE_VECTOR):
                dump.changes.setdefault(token.data.id_code, []).append((time, token.data.value))
    return dump


def port_references(netlist: Netlist, scope: str) -> list[tuple[str, str, int]]:
    """(vector or scalar reference, bit reference, bit index) of every port bit."""
    found = []
    for port in netlist.ports:
        whole = port.name if port.msb is None else f"{port.name}[{port.msb}:{port.lsb}]"
        found += [(f"{scope}.{whole}", f"{scope}.{port_bit(port, j)[0]}", j) for j in range(port.width)]
    return found


def net_reference(netlist: Netlist, net: int) -> str:
    scope, name = net_scope(netlist, net)
    return ".".join([*scope, name])


@pytest.fixture
def hierarchical(library) -> Netlist:
    return read_verilog(HIERARCHICAL, library)


@pytest.mark.tools
@pytest.mark.parametrize("design", ["random", "hierarchical"])
def test_value_changes_match_icarus_per_port_bit_and_net(library, hierarchical, design, tmp_path):
    require_tool("iverilog")
    netlist = random_netlist(library, 5, gates=120) if design == "random" else hierarchical
    timed = annotate_delays(netlist, resolution=1e-11)
    rng = np.random.default_rng(5)
    inputs = {p.name: rng.integers(0, 1 << p.width, 31) for p in netlist.inputs}
    period = timed.settle_bound_steps + 1
    run_iverilog(timed, inputs, tmp_path / "icarus")
    theirs = read_dump(tmp_path / "icarus" / "dump.vcd")
    ours = read_dump(write_vcd(timed, inputs, tmp_path / "ours.vcd"))
    top, compared = module_name(netlist), 0
    for whole, bit_name, j in port_references(netlist, top):
        expected = theirs.bit_changes(whole.replace(top, "tb.dut", 1), j, since=period)
        assert ours.bit_changes(whole, j, since=period) == expected, whole
        assert ours.bit_changes(bit_name, since=period) == expected, bit_name
        compared += len(expected)
    for net in range(len(CONST_NAMES), len(netlist.nets)):
        expected = theirs.bit_changes("tb.dut." + wire_name(netlist, net).strip().lstrip("\\"), since=period)
        assert ours.bit_changes(net_reference(netlist, net), since=period) == expected, netlist.nets[net]
        compared += len(expected)
    assert compared > (200 if design == "random" else 30)


def test_vcd_reads_back_with_buses_every_port_bit_and_module_scopes(hierarchical, tmp_path):
    timed = annotate_delays(hierarchical)
    rng = np.random.default_rng(1)
    inputs = {p.name: rng.integers(0, 2, 40) for p in hierarchical.inputs}
    dump = read_dump(write_vcd(timed, inputs, tmp_path / "run.vcd"))
    written = datetime.strptime(dump.header[TokenKind.DATE], "%Y-%m-%d %H:%M:%S %z")
    assert abs((datetime.now(UTC) - written).total_seconds()) < 3600
    assert dump.header[TokenKind.VERSION].startswith("gatedse ")
    # the hierarchy of the flattened names: h1 and h2 are module scopes under top, g.h a nested one
    assert {"top.h1.k", "top.h2.k", "top.h1.s", "top.g.h.z", "top.p"} <= set(dump.variables)
    # every port bit, the copies of other nets (y[0] is h2.s, y[2] is g.h.z, y[3] is q) as aliases of their wires
    assert dump.variables["top.y[3:0]"][1] == 4
    assert dump.variables["top.y[3]"][0] == dump.variables["top.q"][0]
    assert dump.variables["top.y[2]"][0] == dump.variables["top.g.h.z"][0]
    toggles = simulate(timed, inputs).toggles
    final = net_values(hierarchical, inputs)[:, -1]
    for whole, bit_name, j in port_references(hierarchical, "top"):
        net = hierarchical.port(whole.split(".")[1].split("[")[0]).nets[j]
        assert len(dump.bit_changes(whole, j)) - 1 == toggles[net]  # the first entry is the initial value
        assert dump.bit_changes(whole, j) == dump.bit_changes(bit_name)
        assert dump.bit_changes(whole, j)[-1][1] == str(final[net])


def test_constant_port_bits_are_wires_that_keep_their_value(library, tmp_path):
    b = NetlistBuilder("ties", library)
    a = b.input("a", 2)
    b.output("y", [b.gate("INV", a[0]), 1, a[1], 0])
    timed = annotate_delays(b.build())
    dump = read_dump(write_vcd(timed, {"a": np.array([0, 1, 2, 3, 0])}, tmp_path / "ties.vcd", transitions=[1, 3]))
    assert dump.bit_changes("ties.y[1]") == [(0, "1")] and dump.bit_changes("ties.y[3]") == [(0, "0")]
    period = timed.settle_bound_steps + 1
    # before the first chosen vector (1, applied at 1 × period) the nets are unknown; bit 1 of y[3:0] is constant
    assert dump.bit_changes("ties.y[3:0]", 0)[:2] == [(0, "x"), (period, "0")]
    assert [v for _, v in dump.bit_changes("ties.y[3:0]", 1)] == ["1"]

"""Structural Verilog read/write: round trips, yosys output, a real netlist, and one error per kind."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from cells.default import default_library_path
from characterize.errors import NetlistError
from characterize.netlist.builder import NetlistBuilder
from characterize.netlist.ir import CONST0, UNCONNECTED, Netlist
from characterize.netlist.logic import evaluate
from characterize.netlist.verilog import read_verilog, write_verilog, write_verilog_file
from tests.conftest import require_tool, shared_file

INV = "sky130_fd_sc_hd__inv_1"
NAND2 = "sky130_fd_sc_hd__nand2_1"


def by_name(netlist: Netlist) -> tuple:
    """A netlist with every net replaced by its name: equal for equal netlists whatever their numbering."""

    def name(net: int) -> str | None:
        return None if net == UNCONNECTED else netlist.nets[net]

    return (
        netlist.name,
        sorted(netlist.nets),
        [(p.name, p.direction, tuple(map(name, p.nets)), p.msb, p.lsb) for p in netlist.ports],
        [(i.name, i.cell, tuple(map(name, i.inputs)), tuple(map(name, i.outputs))) for i in netlist.instances],
        netlist.vectors,
    )


def adder(library) -> Netlist:
    """y = a + b (2 bits, carry in y[2]), y[3] = 0 and y[4] = a[0]."""
    b = NetlistBuilder("add2", library)
    a, c = b.input("a", 2), b.input("b", 2)
    s0, c0 = b.gate("HA", a[0], c[0])
    s1, c1 = b.gate("FA", a[1], c[1], c0)
    b.output("y", [s0, s1, c1, CONST0, a[0]])
    return b.build()


def exhaustive(width: int) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.meshgrid(np.arange(1 << width), np.arange(1 << width))
    return x.ravel(), y.ravel()


def test_round_trip_of_built_netlist_is_exact(library):
    netlist = adder(library)
    text = write_verilog(netlist)
    assert "assign y[3] = 1'b0;" in text and "assign y[4] = a[0];" in text
    again = read_verilog(text, library)
    assert by_name(again) == by_name(netlist)
    assert write_verilog(again) == text
    twice = read_verilog(write_verilog(again), library)
    assert (twice.nets, twice.ports, twice.instances) == (again.nets, again.ports, again.instances)


def test_read_netlist_computes_the_same_function(library, tmp_path):
    netlist = adder(library)
    path = write_verilog_file(netlist, tmp_path / "add2.v")
    read = read_verilog(path, library)
    a, b = exhaustive(2)
    expected = (a + b) | ((a & 1) << 4)
    np.testing.assert_array_equal(evaluate(netlist, {"a": a, "b": b})["y"], expected)
    np.testing.assert_array_equal(evaluate(read, {"a": a, "b": b})["y"], expected)
    assert read.port("y").nets[3] == CONST0
    assert read.port("y").nets[4] == read.port("a").nets[0]


@pytest.mark.tools
@pytest.mark.parametrize("attributes", ["-noattr", ""], ids=["noattr", "attributes"])
def test_yosys_netlist_reads_and_multiplies(library, tmp_path, attributes):
    yosys = require_tool("yosys")
    (tmp_path / "x.v").write_text(
        "module m(input [2:0] a, input [2:0] b, output [5:0] y);\n  assign y = a * b;\nendmodule\n"
    )
    lib = default_library_path()
    script = (
        f"read_verilog x.v; synth -top m; dfflibmap -liberty {lib}; abc -liberty {lib}; opt_clean; "
        f"write_verilog {attributes} out.v"
    )
    subprocess.run([yosys, "-q", "-p", script], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    netlist = read_verilog(tmp_path / "out.v", library)
    assert netlist.instances and {p.name for p in netlist.ports} == {"a", "b", "y"}
    a, b = exhaustive(3)
    np.testing.assert_array_equal(evaluate(netlist, {"a": a, "b": b})["y"], a * b)
    text = write_verilog(netlist)
    assert write_verilog(read_verilog(text, library)) == text


def test_constants_concatenations_escaped_names_and_positional_pins(library):
    text = r"""// header comment
module \top.m (input [1:0] a, input \b.x , output [3:0] y, output z);
  wire \n.1 ;
  wire [1:0] w;
  sky130_fd_sc_hd__nand2_1 \u.1 (a[0], \b.x , \n.1 );
  sky130_fd_sc_hd__inv_1 u2 (.A(\n.1 ), .Y(w[1]), .VPWR(1'b1), .VGND(1'b0));
  assign w[0] = a[1];
  assign y = {w, 2'b10};
  assign \z = y[3];
endmodule
"""
    netlist = read_verilog(text, library)
    assert netlist.name == "\\top.m"
    assert "\\n.1" in netlist.nets and "z" not in netlist.nets
    assert netlist.nets[netlist.port("z").nets[0]] == "w[1]"  # the driven net names the aliased class
    assert [i.name for i in netlist.instances] == ["\\u.1", "u2"]
    assert netlist.vectors == {"a": (1, 0), "y": (3, 0), "w": (1, 0)}
    a = np.array([0, 1, 2, 3])
    out = evaluate(netlist, {"a": a, "\\b.x": np.array([1, 1, 0, 0])})
    np.testing.assert_array_equal(out["y"], [0b0010, 0b1010, 0b0110, 0b0110])  # {a[0] & b.x, a[1], 1, 0}
    np.testing.assert_array_equal(out["z"], [0, 1, 0, 0])
    written = write_verilog(netlist)
    assert "\\u.1 (" in written and ".B(\\b.x )" in written
    assert write_verilog(read_verilog(written, library)) == written


def test_ascending_ranges_keep_the_lsb_on_the_right(library):
    text = "module m (a, y);\n  input [0:1] a;\n  output [0:1] y;\n  assign y = {a[1], a[0]};\nendmodule\n"
    netlist = read_verilog(text, library)
    assert [netlist.nets[n] for n in netlist.port("a").nets] == ["a[1]", "a[0]"]
    np.testing.assert_array_equal(evaluate(netlist, {"a": np.arange(4)})["y"], [0, 2, 1, 3])
    written = write_verilog(netlist)
    assert "input [0:1] a;" in written and "assign y[1] = a[0];" in written
    assert write_verilog(read_verilog(written, library)) == written


def test_top_is_the_module_no_other_instantiates(library):
    text = f"""module {INV} (A, Y); input A; output Y; assign Y = A; endmodule
module m (a, y);
  input a;
  output y;
  {INV} u1 (.A(a), .Y(y));
endmodule
"""
    assert read_verilog(text, library).name == "m"
    two = "module p (a); input a; endmodule\nmodule q (b); input b; endmodule\n"
    with pytest.raises(NetlistError, match=r"^<string>:\d+: several top modules \(p, q\)"):
        read_verilog(two, library)
    assert read_verilog(two, library, top="q").ports[0].name == "b"


def test_parser_writes_no_files(tmp_path):
    code = (
        "import pathlib, pyverilog; from cells.default import load_library; "
        "from characterize.netlist.verilog import read_verilog; "
        "read_verilog('module m (a, y); input a; output y; assign y = a;\\nendmodule\\n', load_library()); "
        "print(list(pathlib.Path(pyverilog.__file__).parent.rglob('parsetab*')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_gcd_netlist(sky130_full):
    path = shared_file("gcd_sky130hd.v")
    text = path.read_text()
    cells = re.findall(r"^\s*(sky130_fd_sc_hd__\w+)\s+\S+\s*\(", text, flags=re.MULTILINE)
    tap = "sky130_fd_sc_hd__tapvpwrvgnd_1"
    assert tap not in sky130_full.cells  # the tap cell is physical only: the Liberty file lacks it
    netlist = read_verilog(path, sky130_full)
    assert netlist.physical_cells == {tap: cells.count(tap)} == {tap: 1040}
    assert len(netlist.instances) == len(cells) - 1040 == 252
    ports = {(p.name, p.direction, p.width) for p in netlist.ports}
    assert ports >= {("clk", "input", 1), ("req_msg", "input", 32), ("resp_msg", "output", 16)}
    assert "\\ctrl.state.out[1]" in netlist.nets
    flop = next(i for i in netlist.instances if i.name == "_412_")
    assert flop.line == text.splitlines().index(" sky130_fd_sc_hd__dfxtp_1 _412_ (.D(_001_),") + 1
    assert netlist.nets[flop.outputs[0]] == "\\ctrl.state.out[1]"
    written = write_verilog(netlist)
    assert write_verilog(read_verilog(written, sky130_full)) == written


HEADER = "module m (a, b, y);\n  input a;\n  input b;\n  output y;\n"

BAD = {
    "syntax": (HEADER + f"  {NAND2} u1 (.A(a) .B(b), .Y(y));\nendmodule\n", 5, "syntax error before '.'"),
    "unknown cell": (HEADER + "  nand9 u1 (.A(a), .B(b), .Y(y));\nendmodule\n", 5, "instance u1: unknown cell nand9"),
    "unknown pin": (
        HEADER + f"  {NAND2} u1 (.A(a), .C(b), .Y(y));\nendmodule\n",
        5,
        f"instance u1: cell {NAND2} has no pin C",
    ),
    "pin width": (
        "module m (a, y);\n  input [1:0] a;\n  output y;\n" + f"  {INV} u1 (.A(a), .Y(y));\nendmodule\n",
        4,
        "width mismatch: instance u1 pin A is connected to 2 bits",
    ),
    "assign width": (
        "module m (a, y);\n  input [1:0] a;\n  output y;\n  assign y = a;\nendmodule\n",
        4,
        "width mismatch: assign of 2 bits to 1 bits",
    ),
    "port width": (HEADER + "  wire [1:0] y;\nendmodule\n", 5, "width mismatch: y[1:0] was declared scalar"),
    "undeclared": (HEADER + f"  {NAND2} u1 (.A(a), .B(c), .Y(y));\nendmodule\n", 5, "undeclared net c"),
    "undriven": (
        HEADER + f"  wire n;\n  {NAND2} u1 (.A(a), .B(n), .Y(y));\nendmodule\n",
        6,
        "net n drives instance u1 but has no driver",
    ),
    "multiple drivers": (
        HEADER + f"  {INV} u1 (.A(a), .Y(y));\n  {INV} u2 (.A(b), .Y(y));\nendmodule\n",
        6,
        "net y has multiple drivers: instance u2 and instance u1",
    ),
    "assign drivers": (
        HEADER + "  assign y = a;\n  assign y = b;\nendmodule\n",
        6,
        "net y has multiple drivers: a and b",
    ),
    "output undriven": (HEADER + "endmodule\n", 4, "net y of output port y has no driver"),
    "recursive hierarchy": (
        HEADER + "  m s1 (.a(a), .b(b), .y(y));\nendmodule\n",
        1,
        "no top module: every module is instantiated by one (recursion)",
    ),
    "hierarchy port width": (
        "module sub (p, q);\n  input [1:0] p;\n  output q;\n  assign q = p[0];\nendmodule\n" + HEADER
        + "  sub s1 (.p(a), .q(y));\nendmodule\n",
        10,
        "width mismatch: instance s1 port p is 2 bits, connected to 1",
    ),
    "loop": (
        HEADER + f"  wire n;\n  {NAND2} u1 (.A(a), .B(y), .Y(n));\n  {INV} u2 (.A(n), .Y(y));\nendmodule\n",
        6,
        "combinational loop through instance u1",
    ),
    "power port as logic": (
        (f"module m (a, y, VPWR);\n  input a;\n  output y;\n  inout VPWR;\n  {NAND2} u1 (.A(a), .B(VPWR), .Y(y));\n"
         "endmodule\n"),
        5,
        "instance u1: logic pin B is connected to inout port VPWR; inout ports are power ports",
    ),
    "no direction": (
        "module m (a, y);\n  input a;\n  wire y;\nendmodule\n",
        1,
        "port y of module m has no input or output",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_errors_name_file_line_and_culprit(library, tmp_path, kind):
    text, line, message = BAD[kind]
    path = tmp_path / "bad.v"
    path.write_text(text)
    with pytest.raises(NetlistError) as error:
        read_verilog(path, library)
    assert str(error.value).startswith(f"{path}:{line}: {message}")
    assert "\n" not in str(error.value)


def test_hierarchy_is_flattened(library):
    text = (
        "module half (a, b, s, c);\n  input a, b;\n  output s, c;\n"
        "  sky130_fd_sc_hd__xor2_1 x (.A(a), .B(b), .X(s));\n  sky130_fd_sc_hd__and2_1 n (.A(a), .B(b), .X(c));\n"
        "  sky130_fd_sc_hd__tapvpwrvgnd_1 tap ();\nendmodule\n"
        "module top (p, q, r, y);\n  input p, q, r;\n  output [1:0] y;\n  wire t, u;\n"
        "  half h1 (.a(p), .b(q), .s(t), .c(u));\n  half h2 (t, r, y[0], y[1]);\nendmodule\n"
    )
    netlist = read_verilog(text, library)
    assert netlist.name == "top" and [i.name for i in netlist.instances] == ["h1.x", "h1.n", "h2.x", "h2.n"]
    assert netlist.physical_cells == {"sky130_fd_sc_hd__tapvpwrvgnd_1": 2}
    v = np.arange(8)
    p, q, r = v & 1, (v >> 1) & 1, (v >> 2) & 1
    assert np.array_equal(evaluate(netlist, {"p": p, "q": q, "r": r})["y"], (p ^ q) + r)
    written = write_verilog(netlist)
    assert write_verilog(read_verilog(written, library)) == written


def test_text_errors_name_the_given_source(library):
    with pytest.raises(NetlistError, match=r"^design\.v:2: syntax error: unexpected end of input$"):
        read_verilog("module m (a);\n  input a;", library, source="design.v")
    with pytest.raises(NetlistError, match=r"^missing\.v: cannot read Verilog netlist"):
        read_verilog("missing.v", library)


def test_parser_tables_are_built_once_and_read_back(tmp_path):
    """The first process writes PLY's tables to the cache folder; later ones (and a rebuilt corrupt file) read them."""
    code = (
        "from characterize.netlist.verilog import read_verilog, write_verilog\n"
        "from cells.default import load_library\n"
        "lib = load_library()\n"
        "text = 'module t(a, y); input a; output y; sky130_fd_sc_hd__inv_1 u(.A(a), .Y(y)); endmodule\\n'\n"
        "print(write_verilog(read_verilog(text, lib)))\n"
    )
    env = dict(os.environ, GATEDSE_CACHE_DIR=str(tmp_path))

    def run() -> str:
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout

    first = run()
    (tables,) = (tmp_path / "pyverilog").glob("parsetab-*.pickle")
    built = tables.read_bytes()
    assert run() == first and tables.read_bytes() == built
    tables.write_bytes(b"truncated")
    assert run() == first and tables.read_bytes() == built


def test_a_module_that_instantiates_itself_is_refused(library):
    text = HEADER + "  m s1 (.a(a), .b(b), .y(y));\nendmodule\n"
    with pytest.raises(NetlistError, match=r"^<string>:5: instance s1: module m instantiates itself$"):
        read_verilog(text, library, top="m")

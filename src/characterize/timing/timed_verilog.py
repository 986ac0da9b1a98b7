"""The timed netlist as Verilog for Icarus Verilog, a testbench that replays input vectors, and readers of its results.

Icarus is the reference for `sim`: with gate delays a gate becomes `assign
#(RISE, FALL) out = TABLE >> {in_k, ..., in_0};` under `timescale` = the delay
resolution; with arc delays it becomes an instance of a small module whose
output is that table shift and whose `specify` block gives each input pin's
path delay, `(i0 => y) = (RISE, FALL);`, or one per input edge where they differ,
`(posedge i0 => (y : i0)) = (RISE, FALL);`, compiled with `iverilog -gspecify`. The table
shift is chosen over a boolean expression because Icarus compiles it to a
concatenation and a shift, which pass every input change on at once, followed
by one part select that is evaluated once per time step, after every change of
that step. A multi-level expression would instead evaluate in zero-time stages
and could hand the delay transient values, which Icarus's inertial filter treats
as real input changes.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from characterize.errors import SimulationError
from characterize.netlist._elaborate import identifier
from characterize.netlist.ir import CONST_NAMES, Netlist, Port
from characterize.timing.delays import NO_ARC, TimedGates, timescale_unit
from characterize.timing.sim import input_bit_matrix

_BIT = re.compile(r"^([A-Za-z_][A-Za-z0-9_$]*)\[(\d+)\]$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def write_timed_verilog(timed: TimedGates) -> str:
    """The netlist as one delayed continuous assignment (or one path-delay module instance) per gate output.

    Every net is a scalar wire (a bit `y[3]` of a port becomes `\\y[3] `), joined to
    its port by a zero-delay assignment: a gate that read a bit of a vector would
    see it through an extra part select, one evaluation stage behind the scalars.
    """
    netlist = timed.netlist
    unit = timescale_unit(timed.resolution_s)
    lines = [f"`timescale {unit}/{unit}"]
    modules = _path_modules(timed) if timed.per_arc else {}
    for text, name in modules.items():
        lines.append(text.replace("MODULE", name))
    lines.append(f"module {module_name(netlist)} ({', '.join(identifier(p.name) for p in netlist.ports)});")
    lines += [f"  {port.direction} {_range(port)}{identifier(port.name)};" for port in netlist.ports]
    scalar_ports = {p.name for p in netlist.ports if p.msb is None}
    lines += [
        f"  wire {wire_name(netlist, n)};"
        for n in range(len(CONST_NAMES), len(netlist.nets))
        if netlist.nets[n] not in scalar_ports
    ]
    for port in netlist.ports:
        for j, net in enumerate(port.nets):
            bit, wire = _port_bit(port, j), wire_name(netlist, net)
            if port.msb is not None or netlist.nets[net] != port.name:
                lines.append(f"  assign {bit} = {wire};" if port.direction == "output" else f"  assign {wire} = {bit};")
    for g in range(timed.gate_count):
        row = [int(n) for n in timed.gate_inputs[g] if n >= 0]
        target = wire_name(netlist, int(timed.gate_output[g]))
        table = int(timed.gate_table[g]) & ((1 << (1 << len(row))) - 1)
        if not row:
            lines.append(f"  assign {target} = 1'b{table & 1};")
            continue
        if timed.per_arc:
            pins = ", ".join(f".i{j}({wire_name(netlist, n)})" for j, n in enumerate(row))
            lines.append(f"  {modules[_path_module(timed, g)]} gate${g} ({pins}, .y({target}));")
            continue
        bits = format(table, f"0{1 << len(row)}b")
        sources = ", ".join(wire_name(netlist, n) for n in reversed(row))
        rise, fall = int(timed.rise_steps[g]), int(timed.fall_steps[g])
        lines.append(f"  assign #({rise}, {fall}) {target} = {len(bits)}'b{bits} >> {{{sources}}};")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def _path_modules(timed: TimedGates) -> dict[str, str]:
    """One module per distinct (truth table, arc delays) of the gates with inputs, text -> module name."""
    modules: dict[str, str] = {}
    for g in range(timed.gate_count):
        if (timed.gate_inputs[g] >= 0).any():
            text = _path_module(timed, g)
            modules.setdefault(text, f"{module_name(timed.netlist)}_path{len(modules)}")
    return modules


def _path_module(timed: TimedGates, g: int) -> str:
    """Gate g as a module (`path_module`) with its arc delays."""
    k = int((timed.gate_inputs[g] >= 0).sum())
    return path_module(int(timed.gate_table[g]), [(timed.arc_rise_steps[g, j], timed.arc_fall_steps[g, j])
                                                  for j in range(k)])


def path_module(table: int, arcs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> str:
    """A k-input gate (k = len(arcs)) as module MODULE: the table shift drives y, and the specify block gives
    pin j the (rise, fall) path delays `arcs[j]`, each by input edge (rise 0, fall 1; `NO_ARC`: no path)."""
    k = len(arcs)
    bits = format(table & ((1 << (1 << k)) - 1), f"0{1 << k}b")
    ports = ", ".join(f"input i{j}" for j in range(k))
    paths = []
    for j, (rise, fall) in enumerate(arcs):
        if rise[0] == NO_ARC:
            continue
        if rise[0] == rise[1] and fall[0] == fall[1]:
            paths.append(f"    (i{j} => y) = ({rise[0]}, {fall[0]});")
        else:
            paths.append(f"    (posedge i{j} => (y : i{j})) = ({rise[0]}, {fall[0]});")
            paths.append(f"    (negedge i{j} => (y : i{j})) = ({rise[1]}, {fall[1]});")
    sources = ", ".join(f"i{j}" for j in reversed(range(k)))
    return "\n".join(
        [f"module MODULE ({ports}, output y);", f"  assign y = {len(bits)}'b{bits} >> {{{sources}}};",
         "  specify", *paths, "  endspecify", "endmodule"]
    )


def wire_name(netlist: Netlist, net: int) -> str:
    """The scalar Verilog wire of a net: its name, escaped when it names a vector bit; constants as literals."""
    name = netlist.nets[net]
    if net < len(CONST_NAMES):
        return name
    if _BIT.match(name):
        return f"\\{name} "
    return f"{name} " if name.startswith("\\") and not name.endswith(" ") else name


def write_vectors(timed: TimedGates, inputs: Mapping[str, Iterable[int]]) -> str:
    """Input vectors for `$readmemh`, one per line: the input ports concatenated, first port at the LSB."""
    bits = input_bit_matrix(timed, inputs)
    weights = [1 << j for j in range(bits.shape[1])]
    digits = max(1, (bits.shape[1] + 3) // 4)
    return "".join(f"{sum(w for w, b in zip(weights, row) if b):0{digits}x}\n" for row in bits.tolist())


def write_testbench(
    timed: TimedGates,
    vectors: int,
    period_steps: int,
    vectors_file: str,
    vcd_file: str | None = None,
    count_toggles: bool = False,
) -> str:
    """A testbench applying `vectors` vectors from `vectors_file`, vector i at time i × `period_steps`.

    With `vcd_file` it dumps every net of the design; with `count_toggles` it counts
    the value changes of every net from the first transition on and prints them at
    the end as `toggles <net index> <count>` lines (constants stay 0).
    """
    netlist = timed.netlist
    unit = timescale_unit(timed.resolution_s)
    width = len(timed.input_nets)
    connections, offset = [], 0
    lines = [
        f"`timescale {unit}/{unit}",
        "module tb;",
        f"  reg [{width - 1}:0] vector;",
        f"  reg [{width - 1}:0] memory [0:{vectors - 1}];",
    ]
    for port in netlist.ports:
        if port.direction == "input":
            connections.append(f".{identifier(port.name)}(vector[{offset + port.width - 1}:{offset}])")
            offset += port.width
        else:
            lines.append(f"  wire {_range(port)}{identifier(port.name)};")
            connections.append(f".{identifier(port.name)}({identifier(port.name)})")
    lines += [f"  {module_name(netlist)} dut ({', '.join(connections)});", "  integer i;"]
    nets = len(netlist.nets)
    if count_toggles:
        lines.append(f"  integer toggles [0:{nets - 1}];")
        lines.append(f"  initial for (i = 0; i < {nets}; i = i + 1) toggles[i] = 0;")
        for net in range(len(CONST_NAMES), nets):
            lines.append(
                f"  always @(dut.{wire_name(netlist, net)}) if ($time >= {period_steps}) toggles[{net}] = toggles[{net}] + 1;"
            )
    lines += ["  initial begin", f'    $readmemh("{vectors_file}", memory);']
    if vcd_file is not None:
        lines += [f'    $dumpfile("{vcd_file}");', "    $dumpvars(0, dut);"]
    lines += [
        f"    for (i = 0; i < {vectors}; i = i + 1) begin",
        "      vector = memory[i];",
        f"      #{period_steps};",
        "    end",
    ]
    if count_toggles:
        lines.append(f'    for (i = 0; i < {nets}; i = i + 1) $display("toggles %0d %0d", i, toggles[i]);')
    lines += ["    $finish;", "  end", "endmodule"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, eq=False)
class IverilogResult:
    """Icarus Verilog's activity for the same transitions: toggles per net and, from a VCD, sensitized delays."""

    toggles: np.ndarray
    sensitized_delay_steps: np.ndarray | None
    compile_s: float
    run_s: float


def run_iverilog(
    timed: TimedGates,
    inputs: Mapping[str, Iterable[int]],
    workdir: str | Path,
    period_steps: int | None = None,
    vcd: bool = True,
) -> IverilogResult:
    """Simulate the transitions with iverilog + vvp in `workdir`; toggles from a VCD (`vcd`) or from counters.

    Vector i is applied at i × `period_steps` (default: the settling bound plus one
    step); `compile_s` and `run_s` are the wall times of the two tool processes.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    period = timed.settle_bound_steps + 1 if period_steps is None else int(period_steps)
    if period <= timed.settle_bound_steps:
        raise SimulationError(f"period_steps {period} is not longer than the settling bound {timed.settle_bound_steps}")
    text = write_vectors(timed, inputs)
    vectors = text.count("\n")
    (workdir / "vectors.mem").write_text(text)
    (workdir / "design.v").write_text(write_timed_verilog(timed))
    tb = write_testbench(timed, vectors, period, "vectors.mem", "dump.vcd" if vcd else None, count_toggles=not vcd)
    (workdir / "tb.v").write_text(tb)
    start = time.perf_counter()
    _tool(["iverilog", *(["-gspecify"] if timed.per_arc else []), "-o", "sim.vvp", "tb.v", "design.v"], workdir)
    compiled = time.perf_counter()
    output = _tool(["vvp", "-n", "sim.vvp"], workdir)
    finished = time.perf_counter()
    if vcd:
        toggles, delays = vcd_activity(workdir / "dump.vcd", timed.netlist, period, vectors - 1)
    else:
        toggles, delays = counted_toggles(output, len(timed.netlist.nets)), None
    return IverilogResult(toggles, delays, compiled - start, finished - compiled)


def counted_toggles(output: str, nets: int) -> np.ndarray:
    """Per-net toggles from the `toggles <net> <count>` lines a counting testbench prints (a net name may follow)."""
    toggles = np.zeros(nets, dtype=np.int64)
    for line in output.splitlines():
        if line.startswith("toggles "):
            _, net, count = line.split()[:3]
            toggles[int(net)] = int(count)
    return toggles


def vcd_activity(
    path: str | Path, netlist: Netlist, period_steps: int, transitions: int
) -> tuple[np.ndarray, np.ndarray]:
    """Toggles per net and the last output-port event per transition, from a VCD of `write_timed_verilog`'s design.

    Each net is read from its scalar wire in the design's scope `dut` (not from
    the ports of path-delay modules). Changes before time `period_steps`
    (vector 0 settling from x) are not counted; transition i runs from
    (i + 1) × `period_steps`.
    """
    # A VCD reference may escape a name that the design left plain (Icarus writes `n$1` as `\n$1`).
    wires = {wire_name(netlist, n).strip().lstrip("\\"): n for n in range(len(CONST_NAMES), len(netlist.nets))}
    outputs = {n for p in netlist.outputs for n in p.nets}
    toggles = np.zeros(len(netlist.nets), dtype=np.int64)
    delays = np.zeros(transitions, dtype=np.int64)
    codes: dict[str, list[int]] = defaultdict(list)
    last: dict[int, str] = {}
    now = 0
    scopes: list[str] = []
    with open(path) as vcd:
        for line in vcd:
            line = line.strip()
            if line.startswith("$scope"):
                scopes.append(line.split()[2])
            elif line.startswith("$upscope"):
                scopes.pop()
            elif line.startswith("$var") and scopes[-1:] == ["dut"]:
                _, _kind, size, code, *reference = line.split()[:-1]
                if size == "1" and len(reference) == 1 and reference[0].lstrip("\\") in wires:
                    codes[code].append(wires[reference[0].lstrip("\\")])
            elif line.startswith("#"):
                now = int(line[1:])
            elif line[:1] in ("0", "1", "x", "z", "X", "Z"):
                bit = line[0]
                for net in codes.get(line[1:], ()):
                    if last.get(net, bit) != bit and now >= period_steps:
                        toggles[net] += 1
                        if net in outputs:
                            i = now // period_steps - 1
                            delays[i] = now - (i + 1) * period_steps
                    last[net] = bit
    return toggles, delays


def module_name(netlist: Netlist) -> str:
    """The netlist's name as a Verilog identifier."""
    name = re.sub(r"[^A-Za-z0-9_$]", "_", netlist.name) or "design"
    return name if _IDENTIFIER.match(name) else f"m_{name}"


def _range(port: Port) -> str:
    return "" if port.msb is None else f"[{port.msb}:{port.lsb}] "


def _port_bit(port: Port, j: int) -> str:
    if port.msb is None:
        return identifier(port.name)
    return f"{identifier(port.name)}[{port.lsb + j if port.msb >= port.lsb else port.lsb - j}]"


def _tool(command: list[str], workdir: Path) -> str:
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SimulationError(
            f"{' '.join(command)} failed in {workdir}: {(done.stderr or done.stdout).strip()[-2000:]}"
        )
    return done.stdout

"""A clocked netlist as Verilog for Icarus Verilog, and a testbench with the clocked stimulus.

The combinational gates are written by `timed_verilog.write_timed_verilog`. Each
register becomes a `reg` state that starts at 0, an `always` block on the rising
edge of its clock function (and of its clear and preset functions, which win in
that order), and one delayed assignment per output pin with its clock-to-output
delays; with arc delays, one instance per output pin of a path-delay module like the
combinational gates' (`timed_verilog`), its one input the state (compiled with
`iverilog -gspecify`). A latch's `always` block runs on every change of its inputs and takes the
data while its enable function is 1. This is what `clocked.simulate_clocked`
computes, so the two agree net for net.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from characterize.errors import SimulationError
from characterize.netlist._elaborate import identifier
from characterize.netlist.ir import CONST_NAMES
from characterize.timing.clocked import ClockedGates, clocked_inputs
from characterize.timing.delays import timescale_unit
from characterize.timing.timed_verilog import counted_toggles, module_name, path_module, wire_name, write_timed_verilog


def state_name(clocked: ClockedGates, r: int) -> str:
    """The Verilog name of register r's state."""
    inst = clocked.netlist.instances[clocked.reg_instance[r]]
    return f"\\{inst.name.lstrip(chr(92)).strip()}$state "


def _table(bits: int, width: int) -> str:
    return f"{1 << width}'b{format(bits & ((1 << (1 << width)) - 1), f'0{1 << width}b')}"


def _bit(table: int, k: int, sources: str) -> str:
    """A function of a register's k inputs (`sources`, a concatenation) as a one-bit Verilog expression."""
    return f"(({_table(table, k)} >> {sources}) & 1'b1)"


def write_clocked_verilog(clocked: ClockedGates) -> str:
    """The timed combinational netlist plus one behavioural register per flip-flop or latch."""
    netlist = clocked.netlist
    text = write_timed_verilog(clocked.timed)
    lines = [text[: text.rindex("endmodule")].rstrip("\n")]
    width = clocked.reg_inputs.shape[1]
    for r in range(len(clocked.state_nets)):
        nets = [int(n) for n in clocked.reg_inputs[r] if n >= 0]
        k = len(nets)
        sources = "{" + ", ".join(wire_name(netlist, n) for n in reversed(nets)) + "}"
        state = state_name(clocked, r)
        base = state.rstrip()[:-len("$state")]
        lines += [f"  reg {state};", f"  initial {state} = 1'b0;"]
        data = 0
        for index in range(1 << k):
            for q in (0, 1):
                if (int(clocked.reg_data_table[r]) >> (index | (q << width))) & 1:
                    data |= 1 << (index | (q << k))
        update = f"{state} <= {_table(data, k + 1)} >> {{{state}, {sources[1:-1]}}};"
        if clocked.reg_latch[r]:
            update = f"if ({_bit(int(clocked.reg_clock_table[r]), k, sources)}) {update}"
            for table, value in ((int(clocked.reg_preset_table[r]), "1'b1"), (int(clocked.reg_clear_table[r]), "1'b0")):
                if table:
                    update = f"if ({_bit(table, k, sources)}) {state} <= {value}; else {update}"
            lines.append(f"  always @({sources}) {update}")
            continue
        events = []
        for kind, table in (("clock", clocked.reg_clock_table[r]), ("clear", clocked.reg_clear_table[r]),
                            ("preset", clocked.reg_preset_table[r])):
            if kind != "clock" and table == 0:
                continue
            lines.append(f"  wire {base}${kind} = {_table(int(table), k)} >> {sources};")
            events.append(f"posedge {base}${kind} ")
        if clocked.reg_preset_table[r]:
            update = f"if ({base}$preset ) {state} <= 1'b1; else {update}"
        if clocked.reg_clear_table[r]:
            update = f"if ({base}$clear ) {state} <= 1'b0; else {update}"
        lines.append(f"  always @({' or '.join(events)}) {update}")
    modules: dict[str, str] = {}
    for g in range(len(clocked.output_net)):
        r = int(clocked.output_inputs[g, 0]) - len(netlist.nets)
        rise, fall = int(clocked.output_rise[g]), int(clocked.output_fall[g])
        target = wire_name(netlist, int(clocked.output_net[g]))
        table = int(clocked.output_table[g])
        if clocked.timed.per_arc:
            text = path_module(table, [((rise, rise), (fall, fall))])
            name = modules.setdefault(text, f"{module_name(netlist)}_register{len(modules)}")
            lines.append(f"  {name} launch${g} (.i0({state_name(clocked, r)}), .y({target}));")
        else:
            lines.append(f"  assign #({rise}, {fall}) {target} = {_table(table, 1)} >> {{{state_name(clocked, r)}}};")
    lines.append("endmodule")
    lines += [text.replace("MODULE", name) for text, name in modules.items()]
    return "\n".join(lines) + "\n"


def settle_steps(clocked: ClockedGates) -> int:
    """A time by which every net has settled from power-up (unknown values) to row 0 with all states 0."""
    slowest_output = int(max(clocked.output_rise.max(initial=0), clocked.output_fall.max(initial=0)))
    return clocked.timed.settle_bound_steps + slowest_output + 1


def write_clocked_testbench(clocked: ClockedGates, inputs: Mapping[str, np.ndarray], period_steps: int) -> str:
    """Module `tb`: row i at S + i·P, clock low then and high from S + i·P + P/2; toggles counted in [S + P, S + rows·P).

    S is `settle_steps`: row 0 is held with the clock low until every unknown value of
    power-up has resolved, so the timeline starts from the settled state the simulator
    starts from. The rows are written into the testbench (every input but the clock, as
    hex words). At the end it prints `toggles <net index> <count> <net name>` for every
    net and, per counted cycle, `last <cycle> <steps>`: the time after its start of the
    last change of an output-port bit (-1: none).
    """
    netlist = clocked.netlist
    bits = clocked_inputs(clocked, inputs)
    rows = len(bits)
    unit = timescale_unit(clocked.timed.resolution_s)
    width = len(clocked.data_nets)
    half = period_steps // 2
    start = settle_steps(clocked)
    connections, offset = [], 0
    lines = [f"`timescale {unit}/{unit}", "module tb;", "  reg clock;", f"  reg [{max(width, 1) - 1}:0] vector;",
             f"  reg [{max(width, 1) - 1}:0] memory [0:{rows - 1}];"]
    for port in netlist.ports:
        name = identifier(port.name)
        if port.name == clocked.clock_port:
            connections.append(f".{name}(clock)")
        elif port.direction == "input":
            connections.append(f".{name}(vector[{offset + port.width - 1}:{offset}])")
            offset += port.width
        else:
            msb = "" if port.msb is None else f"[{port.msb}:{port.lsb}] "
            lines.append(f"  wire {msb}{name};")
            connections.append(f".{name}({name})")
    nets = len(netlist.nets)
    outputs = {n for p in netlist.outputs for n in p.nets}
    lines += [f"  {module_name(netlist)} dut ({', '.join(connections)});", "  integer i;",
              f"  integer toggles [0:{nets - 1}];", f"  initial for (i = 0; i < {nets}; i = i + 1) toggles[i] = 0;",
              f"  integer last [0:{rows - 1}];", f"  initial for (i = 0; i < {rows}; i = i + 1) last[i] = -1;"]
    for net in range(len(CONST_NAMES), nets):
        count = f"toggles[{net}] = toggles[{net}] + 1;"
        if net in outputs:
            count = (f"begin {count} last[($time - {start}) / {period_steps}] = ($time - {start}) % {period_steps}; "
                     "end")
        lines.append(f"  always @(dut.{wire_name(netlist, net)}) if ($time >= {start + period_steps} && $time < "
                     f"{start + rows * period_steps}) {count}")
    weights = [1 << j for j in range(bits.shape[1])]
    lines.append("  initial begin")
    lines += [f"    memory[{i}] = {max(width, 1)}'h{sum(w for w, b in zip(weights, row) if b):x};"
              for i, row in enumerate(bits.tolist())]
    lines += [
        "    vector = memory[0];",
        "    clock = 0;",
        f"    #{start};",
        f"    for (i = 0; i < {rows}; i = i + 1) begin",
        "      vector = memory[i];",
        "      clock = 0;",
        f"      #{half};",
        "      clock = 1;",
        f"      #{period_steps - half};",
        "    end",
    ]
    for net in range(len(CONST_NAMES), nets):
        name = netlist.nets[net].lstrip(chr(92)).replace(chr(92), chr(92) * 2).replace('"', chr(92) + '"')
        lines.append(f'    $display("toggles {net} %0d {name.replace("%", "%%")}", toggles[{net}]);')
    lines += [
        f'    for (i = 1; i < {rows}; i = i + 1) $display("last %0d %0d", i, last[i]);',
        "    $finish;",
        "  end",
        "endmodule",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, eq=False)
class IcarusClocked:
    """What Icarus Verilog counts on the clocked Verilog: toggles per net and, per cycle from the second, the
    time (steps after the cycle's start) of the last change of an output-port bit (-1: none)."""

    toggles: np.ndarray
    last_output_event_steps: np.ndarray


def run_iverilog_clocked(clocked: ClockedGates, inputs: Mapping[str, np.ndarray], period_steps: int,
                         workdir: str | Path) -> IcarusClocked:
    """Toggles per net and output event times that Icarus Verilog gives on the clocked Verilog, same stimulus."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "design.v").write_text(write_clocked_verilog(clocked))
    (workdir / "tb.v").write_text(write_clocked_testbench(clocked, inputs, period_steps))
    specify = ["-gspecify"] if clocked.timed.per_arc else []
    for command in (["iverilog", *specify, "-o", "sim.vvp", "tb.v", "design.v"], ["vvp", "-n", "sim.vvp"]):
        done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SimulationError(f"{' '.join(command)} failed in {workdir}: {(done.stderr or done.stdout).strip()[-2000:]}")
    last = np.full(len(clocked_inputs(clocked, inputs)) - 1, -1, dtype=np.int64)
    for line in done.stdout.splitlines():
        if line.startswith("last "):
            _, cycle, steps = line.split()
            last[int(cycle) - 1] = int(steps)
    return IcarusClocked(counted_toggles(done.stdout, len(clocked.netlist.nets)), last)

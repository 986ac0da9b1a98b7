"""Structural gate-level Verilog: read into a Netlist, write back out.

Reading uses pyverilog's parser on the text itself (no preprocessor), so
netlists written by synthesis tools (yosys, OpenROAD) load without external
tools: ANSI and non-ANSI ports, scalars and vectors, escaped identifiers,
named or positional cell connections, constants, `assign`s of nets, bit
selects and concatenations, and hierarchy (modules of the file instantiated by
the top one are flattened, their nets and instances named `INSTANCE.NAME`). Writing is deterministic and round-trip exact:
`write_verilog(read_verilog(write_verilog(n)))` equals `write_verilog(n)`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from functools import cache
from pathlib import Path

import ply
import pyverilog
from ply.yacc import yacc
from pyverilog.vparser import ast
from pyverilog.vparser.lexer import VerilogLexer
from pyverilog.vparser.parser import ParseError, VerilogParser

from cells.cache import cache_root, load_pickle
from cells.files import write_text
from cells.model import Library
from characterize.errors import NetlistError
from characterize.netlist._elaborate import Elaborator, identifier, normalize
from characterize.netlist.ir import CONST_NAMES, UNCONNECTED, Netlist, Port

_PARSE_LOCK = threading.Lock()
_VECTOR_BIT = re.compile(r"(.+)\[(-?\d+)\]")


class _CachedTablesParser(VerilogParser):
    """pyverilog's parser with PLY's LALR tables read from a pickle instead of rebuilt (about a second)."""

    def __init__(self, tables: Path):
        self.lexer = VerilogLexer(error_func=self._lexer_error_func)
        self.lexer.build()
        self.tokens = self.lexer.tokens
        self.parser = yacc(module=self, method="LALR", picklefile=str(tables), debug=False)


@cache
def _parser() -> VerilogParser:
    """One parser per process, its tables kept in the user cache folder (keyed by pyverilog's and PLY's versions).

    PLY rebuilds and rewrites the tables when their grammar signature differs; a
    missing or unreadable file is rebuilt into a temporary file and moved into
    place, so concurrent processes never read a half-written one.
    """
    tables = cache_root() / "pyverilog" / f"parsetab-pyverilog{pyverilog.__version__}-ply{ply.__version__}.pickle"
    if load_pickle(tables) is not None:
        return _CachedTablesParser(tables)
    with tempfile.TemporaryDirectory(prefix="gatedse-pyverilog-") as scratch:
        built = Path(scratch) / tables.name
        parser = _CachedTablesParser(built)
        try:
            tables.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(built, tables.with_suffix(f".{os.getpid()}.tmp"))
            os.replace(tables.with_suffix(f".{os.getpid()}.tmp"), tables)
        except OSError:  # an unwritable cache folder: the tables are rebuilt next time
            pass
    return parser


def _parse(text: str, source: str) -> ast.Source:
    parser = _parser()
    with _PARSE_LOCK:
        parser.lexer.reset_lineno()
        try:
            return parser.parse(text)
        except ParseError as error:
            message = str(error)
    line = re.search(r"line:(\d+)", message)
    where = line[1] if line else str(text.count("\n") + 1)
    before = re.search(r'before: "(.*)"', message)
    if before:
        problem = f"syntax error before {before[1]!r}"
    elif "Illegal character" in message:
        problem = "syntax error: " + message.rsplit(": ", 1)[-1].lower()
    else:
        problem = "syntax error: unexpected end of input"
    raise NetlistError(f"{source}:{where}: {problem}")


def _select_module(modules: list[ast.ModuleDef], top: str | None, source: str) -> ast.ModuleDef:
    """The module named `top`, or the only one that no other module instantiates."""
    if not modules:
        raise NetlistError(f"{source}:1: no module found")
    if top is not None:
        for module in modules:
            if normalize(module.name) == top:
                return module
        found = ", ".join(normalize(m.name) for m in modules)
        raise NetlistError(f"{source}:1: no module named {top} (found {found})")
    instantiated = {
        normalize(inst.module)
        for module in modules
        for item in module.items
        if isinstance(item, ast.InstanceList)
        for inst in item.instances
    }
    tops = [m for m in modules if normalize(m.name) not in instantiated]
    if len(tops) == 1:
        return tops[0]
    if not tops:
        raise NetlistError(f"{source}:{modules[0].lineno}: no top module: every module is instantiated by one (recursion)")
    candidates = ", ".join(normalize(m.name) for m in (tops or modules))
    raise NetlistError(f"{source}:{(tops or modules)[-1].lineno}: several top modules ({candidates}); pass top=")


def read_verilog(
    path_or_text: str | Path,
    library: Library,
    top: str | None = None,
    source: str | None = None,
) -> Netlist:
    """Read a structural netlist over `library`'s cells.

    A Path, or a str without a newline that does not start with `module`, is a
    file name; any other str is Verilog text. `source` names the text in error
    messages (default: the file name, or "<string>"). Positional connections
    follow the library's pin order: inputs, outputs, then power pins. Power and
    ground pins of cells are ignored; nets connected to nothing are dropped. Every error is a
    one-line NetlistError that starts with "SOURCE:LINE: " wherever a line is known.
    """
    if isinstance(path_or_text, Path) or ("\n" not in path_or_text and not path_or_text.lstrip().startswith("module")):
        path = Path(path_or_text)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise NetlistError(f"{path}: cannot read Verilog netlist: {error.strerror or error}") from None
        source = source or str(path)
    else:
        text = path_or_text
        source = source or "<string>"
    description = _parse(text, source).description
    modules = [d for d in description.definitions if isinstance(d, ast.ModuleDef)]
    module = _select_module(modules, top, source)
    defined = {normalize(m.name): m for m in modules}
    return Elaborator(module, library, source, defined).netlist()


# ------------------------------------------------------------------- writing
def port_bit(port: Port, i: int) -> tuple[str, str]:
    """Net name and Verilog reference of bit i (from the LSB) of a port."""
    if port.msb is None:
        return port.name, identifier(port.name)
    index = port.lsb + i if port.msb >= port.lsb else port.lsb - i
    return f"{port.name}[{index}]", f"{identifier(port.name)}[{index}]"


def _word(name: str) -> str:
    """An identifier followed by one space, which an escaped identifier already carries."""
    text = identifier(name)
    return text if text.endswith(" ") else text + " "


def _range(msb: int | None, lsb: int | None) -> str:
    return "" if msb is None else f"[{msb}:{lsb}] "


def _reference(netlist: Netlist, net: int) -> str:
    """A net as a Verilog expression: constant, vector bit select or identifier."""
    name = netlist.nets[net]
    if net < len(CONST_NAMES):
        return name
    bit = _VECTOR_BIT.fullmatch(name)
    if bit and bit[1] in netlist.vectors:
        return f"{identifier(bit[1])}[{bit[2]}]"
    return identifier(name)


def write_verilog(netlist: Netlist) -> str:
    """The netlist as a structural Verilog module.

    Ports in netlist order, then wires in net order (a vector at its first
    bit), then one line per instance with every logic pin named, then an
    `assign` for every port bit whose net is not named after it.
    """
    lines = [f"module {_word(netlist.name)}({', '.join(identifier(p.name) for p in netlist.ports)});"]
    port_bits = set()
    assigns = []
    for port in netlist.ports:
        lines.append(f"  {port.direction} {_range(port.msb, port.lsb)}{identifier(port.name)};")
        for i, net in enumerate(port.nets):
            name, reference = port_bit(port, i)
            port_bits.add(name)
            if netlist.nets[net] != name:
                left, right = (reference, _reference(netlist, net))
                if port.direction == "input":
                    left, right = right, left
                assigns.append(f"  assign {left} = {right};")
    connected = {net for port in netlist.ports for net in port.nets}
    connected.update(net for inst in netlist.instances for net in inst.inputs + inst.outputs)
    declared_vectors = set()
    for net in sorted(connected - {UNCONNECTED}):
        name = netlist.nets[net]
        if net < len(CONST_NAMES) or name in port_bits:
            continue
        bit = _VECTOR_BIT.fullmatch(name)
        if bit is None or bit[1] not in netlist.vectors:
            lines.append(f"  wire {identifier(name)};")
        elif bit[1] not in declared_vectors:
            declared_vectors.add(bit[1])
            lines.append(f"  wire {_range(*netlist.vectors[bit[1]])}{identifier(bit[1])};")
    cells = netlist.library.cells
    for inst in netlist.instances:
        cell = cells[inst.cell]
        pins = ", ".join(
            f".{pin}({'' if net == UNCONNECTED else _reference(netlist, net)})"
            for pin, net in zip(cell.inputs + cell.outputs, inst.inputs + inst.outputs)
        )
        lines.append(f"  {_word(inst.cell)}{_word(inst.name)}({pins});")
    lines.extend(assigns)
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def write_verilog_file(netlist: Netlist, path: str | Path) -> Path:
    """Write `write_verilog(netlist)` to `path`; returns the path."""
    return write_text(path, write_verilog(netlist))

"""Options several `dse` commands share: the cell library, the study storage, the multiplier to build and its cells.

Building the parser imports nothing heavy (no numpy, Optuna, torch): what the
options need at run time is imported by the functions that read them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from characterize.choices import ADDERS, ARCHITECTURES, SIZE_FOR
from characterize.errors import GeneratorError
from dse.storage_urls import DEFAULT_STORAGE

if TYPE_CHECKING:
    from characterize.passes.designs import MultiplierSpec

STORAGE_URLS = ("Optuna storage URL: sqlite:///FILE.db, postgresql://..., or journal:///FILE.log for a journal file "
                "(four slashes, or journal:/PATH, for an absolute path)")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" to an option's help, unless it has no default (None, off, empty) or the help says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or action.default is False or action.default == [] or "default" in text:
            return text
        return super()._get_help_string(action)


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The commands directly below `parser`, by name."""
    return {name: sub for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name, sub in action.choices.items()}


def add_library_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--library", type=Path, metavar="FILE", help="Liberty file (.lib or .lib.gz); default: the embedded sky130 hd subset"
    )


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or per-trial lines")


def add_study_argument(parser: argparse.ArgumentParser) -> None:
    """The stored study to read: a name with --storage, or a study file, whose name and storage are used."""
    parser.add_argument("study", metavar="NAME|STUDY.toml",
                        help="study name, or the study file (its name and storage; --storage overrides the storage)")
    parser.add_argument("--storage", metavar="URL", help=f"{STORAGE_URLS} (default: the study file's storage, "
                        f"else {DEFAULT_STORAGE} in the current folder)")


def study_and_storage(args: argparse.Namespace) -> tuple[str, str]:
    """The study name and storage URL `add_study_argument` options name."""
    from dse.config import load_study_config

    if Path(args.study).suffix != ".toml":
        return args.study, args.storage or DEFAULT_STORAGE
    config = load_study_config(args.study)
    return config.name, args.storage or config.storage or DEFAULT_STORAGE


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_multiplier_options(parser: argparse.ArgumentParser, bits_required: bool = True) -> None:
    parser.add_argument("--bits", type=int, required=bits_required, help="operand width, 2 to 16")
    parser.add_argument("--unsigned", action="store_true", help="unsigned operands (default: two's complement)")
    parser.add_argument("--arch", choices=ARCHITECTURES, default="array", help="multiplier architecture")
    parser.add_argument("--adder", choices=ADDERS, default="ripple", help="final adder: ripple-carry or Kogge-Stone (cla)")
    parser.add_argument("--mac", type=int, metavar="ACC_BITS", help="build a MAC with an accumulator of this width")
    parser.add_argument("--pe", action="store_true",
                        help="the clocked systolic-array processing element: ports clk, w (weight), a (activation), "
                        "psum_in (partial sum in); outputs a_out (registered activation), psum_out (registered "
                        "psum_in + a*w)")
    parser.add_argument("--acc-bits", type=int, metavar="N", help="--pe: partial-sum width (default 2*bits + 4)")
    parser.add_argument("--dont-use", action="append", default=[], metavar="PATTERN",
                        help="never map to cells whose name matches this shell pattern (repeatable); added to the "
                        "defaults, which exclude physical-only, low-power (lpflow), clock, delay and probe cells")
    parser.add_argument("--size-for", choices=SIZE_FOR, default="area",
                        help="cell sizes: each function's smallest cell (area), or larger drive strengths of the same "
                        "function on the critical path wherever they shorten it (delay; combinational designs)")


def dont_use_from_args(args: argparse.Namespace) -> tuple[str, ...]:
    from characterize.netlist.techmap import DEFAULT_DONT_USE

    return DEFAULT_DONT_USE + tuple(args.dont_use)


def spec_from_args(args: argparse.Namespace) -> MultiplierSpec:
    from characterize.passes.designs import MultiplierSpec

    if not args.pe:
        if args.acc_bits is not None:
            raise GeneratorError("--acc-bits is the partial-sum width of --pe; use --mac for a MAC")
        return MultiplierSpec(args.bits, not args.unsigned, args.arch, args.adder, args.mac)
    if args.mac is not None:
        raise GeneratorError("--pe has its own accumulator: give its width with --acc-bits, not --mac")
    acc_bits = args.acc_bits if args.acc_bits is not None else 2 * args.bits + 4
    return MultiplierSpec(args.bits, not args.unsigned, args.arch, args.adder, acc_bits, pe=True)

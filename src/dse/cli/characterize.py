"""`dse characterize` and `dse lut show|plot`: the characterization sweep and its LUTs."""

from __future__ import annotations

import argparse
from pathlib import Path

from characterize.choices import MODES, STRATEGIES
from characterize.errors import SimulationError
from dse.cli.options import add_library_option, add_multiplier_options, dont_use_from_args, spec_from_args


def register(commands) -> None:
    parser = commands.add_parser(
        "characterize",
        help="sweep weight values through timing simulation into a LUT",
        description="For every chosen weight value, simulate activation transitions through the multiplier "
        "(weight held at its port, or embedded and simplified) and write energy, delay and area to a LUT.",
    )
    add_multiplier_options(parser, bits_required=False)
    design = parser.add_argument_group("your own netlist (instead of a generated multiplier)")
    design.add_argument("--netlist", type=Path, metavar="DESIGN.v", help="structural Verilog netlist to characterize")
    design.add_argument("--top", metavar="NAME", help="top module (default: the one no other module instantiates)")
    design.add_argument("--weight-port", default="w", metavar="PORT", help="input port that carries the weight")
    design.add_argument("--activation-port", default="a", metavar="PORT",
                        help="input port that carries the activation; other inputs get seeded random values")
    design.add_argument("--clock", metavar="PORT", help="clock port of a netlist with flip-flops: one operation per clock cycle; embedded, "
                        "the logic between the registers is simplified and registers the weight fixes are removed")
    parser.add_argument("--mode", choices=MODES, required=True,
                        help="weight held at the port of the generic multiplier, or embedded and simplified")
    parser.add_argument("--strategy", choices=STRATEGIES, default="simplify",
                        help="embedded mode: simplify with our passes, resynthesize with yosys/ABC, or keep the smaller")
    parser.add_argument("--weights", default="all", metavar="all|LIST|LO:HI|sample:N",
                        help="weights: all, a comma list, an inclusive range (use --weights=-8:7 for negatives), or "
                        "sample:N, N values stratified over the range with zero, ±1, powers of two and the extremes "
                        "always in (drawn with --seed)")
    parser.add_argument("--vectors", type=int, default=10_000, help="activation transitions per weight")
    parser.add_argument("--activations", type=Path, metavar="HIST.csv", help="draw activations from a value,count histogram")
    parser.add_argument("--seed", type=int, default=0, help="seed of the activation sequence")
    parser.add_argument("--period-ps", type=float, help="clock period for leakage energy (default: the critical delay)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (with --dask local: Dask workers)")
    parser.add_argument("--dask", metavar="SCHEDULER",
                        help="run one task per weight on a Dask cluster: a scheduler address (tcp://host:8786) or "
                        "'local' for a LocalCluster of --jobs workers (needs the dask extra)")
    parser.add_argument("--sdf", type=Path, metavar="FILE.sdf",
                        help="stationary mode: delays of the generic multiplier from this SDF (e.g. OpenSTA write_sdf)")
    parser.add_argument("--cache", type=Path, metavar="DIR", help="result cache (default ~/.cache/gatedse/sweep)")
    add_library_option(parser)
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="LUT.csv", help="LUT to write")
    parser.set_defaults(run=run_characterize)

    lut = commands.add_parser("lut", help="inspect a LUT",
                              description="Summarize or plot a LUT written by dse characterize.")
    sub = lut.add_subparsers(title="lut commands", metavar="COMMAND")
    show = sub.add_parser("show", help="print a summary of a LUT",
                          description="Print the LUT's design, its energy, delay and area ranges and the weight "
                          "values at their extremes.")
    show.add_argument("lut", type=Path, metavar="LUT.csv")
    show.set_defaults(run=run_show)
    draw = sub.add_parser("plot", help="plot energy, delay and area against the weight value",
                          description="Plot the LUT's energy, delay and area against the weight value.")
    draw.add_argument("lut", type=Path, metavar="LUT.csv")
    draw.add_argument("-o", "--output", type=Path, required=True, metavar="FIG", help="PNG, SVG or PDF")
    draw.set_defaults(run=run_plot)
    lut.set_defaults(run=lambda args: lut.print_help() or 2)


def parse_weights(text: str, weights: range, seed: int = 0) -> tuple[int, ...]:
    """'all', '-3,0,5', '-8:7' (inclusive) or 'sample:N' as a tuple of weights."""
    from characterize.lut.sampling import SAMPLE_PREFIX, sample_weights

    text = text.strip()
    try:
        if text == "all":
            return tuple(weights)
        if text.startswith(SAMPLE_PREFIX):
            return sample_weights(weights, int(text[len(SAMPLE_PREFIX):]), seed)
        if ":" in text:
            low, high = (int(x) for x in text.split(":"))
            return tuple(range(low, high + 1))
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise SimulationError(f"--weights: expected all, a comma list, LO:HI or sample:N, got {text!r}") from None


def sample_size(text: str) -> int | None:
    """N of a 'sample:N' weight selection, else None."""
    from characterize.lut.sampling import SAMPLE_PREFIX

    text = text.strip()
    return int(text[len(SAMPLE_PREFIX):]) if text.startswith(SAMPLE_PREFIX) else None


def run_characterize(args: argparse.Namespace) -> int:
    from characterize.lut.activations import read_histogram
    from characterize.lut.executors import DaskExecutor
    from characterize.lut.report import summarize
    from characterize.lut.sweep import SweepConfig, run_sweep
    from characterize.lut.table import activations_path, check_lut_path, sidecar_path

    check_lut_path(args.output)
    spec = design_from_args(args)
    if args.jobs < 1:
        raise SimulationError(f"--jobs must be at least 1, got {args.jobs}")
    histogram = None
    if args.activations:
        values = spec.activations if args.netlist else spec.weights
        histogram = read_histogram(args.activations, values.start, values.stop - 1)
    config = SweepConfig(
        spec=spec,
        mode=args.mode,
        weights=parse_weights(args.weights, spec.weights, args.seed),
        weight_sample=sample_size(args.weights),
        vectors=args.vectors,
        seed=args.seed,
        histogram=histogram,
        library=str(args.library.resolve()) if args.library else None,
        period_ps=args.period_ps,
        strategy=args.strategy,
        sdf=str(args.sdf.resolve()) if args.sdf else None,
        dont_use=dont_use_from_args(args),
        size_for=args.size_for,
    )
    lut = run_sweep(config, jobs=args.jobs, cache_dir=args.cache,
                    dask=DaskExecutor(args.dask, args.jobs) if args.dask else None)
    lut.save(args.output)
    print(summarize(lut))
    print(f"wrote {args.output} (+ {sidecar_path(args.output).name}, {activations_path(args.output).name})")
    return 0


def design_from_args(args: argparse.Namespace):
    """The generated multiplier the options describe, or the user's netlist with its named ports."""
    if args.netlist is None:
        if args.bits is None:
            raise SimulationError("--bits is required unless --netlist names your own design")
        return spec_from_args(args)
    from cells.default import load_library
    from characterize.passes.netlist_design import open_design

    design, _netlist = open_design(args.netlist, load_library(args.library), args.weight_port, args.activation_port,
                                   signed=not args.unsigned, top=args.top, clock=args.clock)
    if args.bits is not None and args.bits != design.weight_bits:
        raise SimulationError(
            f"{args.netlist}: weight port {args.weight_port} is {design.weight_bits} bits wide but --bits is {args.bits}"
        )
    return design


def run_show(args: argparse.Namespace) -> int:
    from characterize.lut.report import summarize
    from characterize.lut.table import Lut

    print(summarize(Lut.load(args.lut)))
    return 0


def run_plot(args: argparse.Namespace) -> int:
    from characterize.lut.report import plot
    from characterize.lut.table import Lut

    plot(Lut.load(args.lut), args.output)
    print(f"wrote {args.output}")
    return 0

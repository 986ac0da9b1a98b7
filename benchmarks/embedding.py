"""Build and embed every weight of a multiplier: time it and summarize cells and area per architecture.

Usage: .venv/bin/python benchmarks/embedding.py [--bits 8] [--unsigned] [--adder ripple] [--yosys]

Prints, per architecture: the reference (unembedded) cell count and area, the
mean over all embedded weights, the smallest and largest embedded weights, and
the wall time to build the reference plus embed and simplify every weight
(verification of every design against a*w is timed separately). With
--yosys, every embedded design is also resynthesized with yosys/ABC and the
mean areas and the number of weights where each strategy is smaller are shown.
"""

from __future__ import annotations

import argparse
import time

from cells.default import load_library
from characterize.generators import ARCHITECTURES
from characterize.netlist.techmap import CellMatcher
from characterize.passes.designs import MultiplierSpec, embedded_design, reference_design, verify_product
from characterize.passes.resynthesis import resynthesize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--unsigned", action="store_true")
    parser.add_argument("--adder", default="ripple")
    parser.add_argument("--yosys", action="store_true", help="compare with yosys/ABC resynthesis of every weight")
    args = parser.parse_args()
    library = load_library()
    matcher = CellMatcher(library)
    print(f"{args.bits}-bit {'unsigned' if args.unsigned else 'signed'} multipliers, {args.adder} final adder, {library.name}")
    header = f"{'arch':<8} {'ref cells':>9} {'ref um2':>9} {'mean cells':>10} {'mean um2':>9} {'min um2 (w)':>16} {'max um2 (w)':>16} {'embed s':>8} {'verify s':>8}"
    print(header)
    for arch in ARCHITECTURES:
        spec = MultiplierSpec(args.bits, not args.unsigned, arch, args.adder)
        start = time.perf_counter()
        reference = reference_design(spec, library, matcher)
        designs = {w: embedded_design(reference, spec, w, matcher) for w in spec.weights}
        embed_s = time.perf_counter() - start
        start = time.perf_counter()
        for weight, design in designs.items():
            verify_product(design, spec, weight=weight)
        verify_s = time.perf_counter() - start
        areas = {w: d.area for w, d in designs.items()}
        smallest = min(areas, key=lambda w: (areas[w], w))
        largest = max(areas, key=lambda w: (areas[w], -w))
        mean_cells = sum(len(d.instances) for d in designs.values()) / len(designs)
        mean_area = sum(areas.values()) / len(areas)
        print(
            f"{arch:<8} {len(reference.instances):>9} {reference.area:>9.1f} {mean_cells:>10.1f} {mean_area:>9.1f} "
            f"{areas[smallest]:>9.1f} ({smallest:>4}) {areas[largest]:>9.1f} ({largest:>4}) {embed_s:>8.2f} {verify_s:>8.2f}"
        )
        if args.yosys:
            start = time.perf_counter()
            theirs = {w: resynthesize(d, library) for w, d in designs.items()}
            for weight, design in theirs.items():
                verify_product(design, spec, weight=weight)
            ours_smaller = sum(areas[w] < theirs[w].area for w in designs)
            theirs_smaller = sum(theirs[w].area < areas[w] for w in designs)
            mean_theirs = sum(d.area for d in theirs.values()) / len(theirs)
            print(
                f"{'':<8} yosys/ABC: mean {mean_theirs:.1f} um2 (ours {mean_area:.1f}); smaller for {theirs_smaller} "
                f"weights, ours smaller for {ours_smaller}; {time.perf_counter() - start:.1f} s"
            )


if __name__ == "__main__":
    main()

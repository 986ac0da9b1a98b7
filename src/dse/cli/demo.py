"""`dse demo`: the main job on embedded defaults."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands) -> None:
    parser = commands.add_parser("demo", help="run the end-to-end demo on the embedded defaults")
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output folder (default out/)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes for the characterization")
    parser.add_argument("--trials", type=int, default=16, help="trials per study (default 16)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dse.demo import run_demo  # matplotlib and the whole pipeline: loaded only for the demo

    files = run_demo(args.out, jobs=args.jobs, trials=args.trials)
    print((args.out / "summary.txt").read_text())
    print("wrote:")
    for path in files:
        print(f"  {path}")
    return 0

"""`dse demo`: the main job on embedded defaults."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands) -> None:
    parser = commands.add_parser(
        "demo",
        help="run the end-to-end demo on the embedded defaults",
        description="Characterize the 8-bit signed array multiplier on the embedded sky130 subset (weight held "
        "and embedded), run a weight-subset and a logic-area study with an MLP on scikit-learn's digits, and write "
        "the LUTs, the Pareto fronts and a summary into one folder. Reruns resume.",
    )
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output folder")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes for the characterization")
    parser.add_argument("--trials", type=int, default=16, help="trials per study")
    parser.add_argument("--seed", type=int, default=0, help="seed of the activation transitions and the studies (data split, training, "
                        "sampler); use another --out for another seed")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dse.demo import run_demo, transcript  # matplotlib and the whole pipeline: loaded only for the demo

    files = run_demo(args.out, jobs=args.jobs, trials=args.trials, seed=args.seed)
    print(transcript(args.out, files))
    return 0

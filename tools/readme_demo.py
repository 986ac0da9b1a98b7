"""Write the demo's own output into the README's quick start, or check that it is there.

Usage: .venv/bin/python tools/readme_demo.py [--check] [--out DIR]   (or `make readme-demo`)

Runs the demo into DIR (default `out/`, as `make demo` does; a rerun reads the
LUT cache and the finished trials) and puts what `dse demo` prints when it is
done, from the first study on, into the README's `$ make demo` block. With
`--check` the README is left alone and the script exits 1 when its block differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
OPENING = "```\n$ make demo\n"


def quick_start_block(transcript: str) -> str:
    """The quoted block: the command, an ellipsis for the characterization, then the output from the studies on."""
    return OPENING + "...\n" + transcript[transcript.index("== study "):].rstrip("\n") + "\n```"


def replace_block(readme: str, block: str) -> str:
    """`readme` with its one `$ make demo` block replaced by `block`."""
    if readme.count(OPENING) != 1:
        raise SystemExit(f"expected one block opening with {OPENING!r} in the README, found {readme.count(OPENING)}")
    start = readme.index(OPENING)
    end = readme.index("\n```", start + len(OPENING)) + len("\n```")
    return readme[:start] + block + readme[end:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), help="the demo's folder")
    parser.add_argument("--check", action="store_true", help="exit 1 when the README's block differs; write nothing")
    args = parser.parse_args()
    from cells.files import write_text
    from dse.demo import run_demo, transcript

    files = run_demo(args.out)
    text = README.read_text()
    updated = replace_block(text, quick_start_block(transcript(args.out, files)))
    if args.check:
        if updated != text:
            print(f"{README}: the quoted demo output differs from this run's; run tools/readme_demo.py")
            return 1
        print(f"{README}: the quoted demo output is this run's")
        return 0
    if updated != text:
        write_text(README, updated)
    print(f"{README}: quoted demo output {'updated' if updated != text else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

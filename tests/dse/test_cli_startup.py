"""`dse --help` starts fast: building the command line imports no numerical or plotting package."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "numba", "pandas", "torch", "optuna", "matplotlib", "sympy", "sklearn", "scipy", "sqlalchemy")


def test_every_commands_help_imports_nothing_heavy():
    """The whole parser (built-in and plugin commands) and every command's help text, in a fresh interpreter."""
    code = ("import json, sys\nfrom dse.cli import build_parser\nfrom dse.cli.options import subparsers\n"
            "def walk(parser):\n    yield parser\n    for sub in subparsers(parser).values():\n        yield from walk(sub)\n"
            "helps = [parser.format_help() for parser in walk(build_parser())]\n"
            f"print(json.dumps({{'commands': len(helps), 'heavy': sorted(m for m in sys.modules "
            f"if m.split('.')[0] in {HEAVY!r})}}))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(run.stdout)
    assert report["commands"] > 15 and report["heavy"] == []


def test_dse_help_runs_as_a_module_without_heavy_imports():
    """`python -X importtime -m dse.cli --help`: the import log names none of the heavy packages."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "dse.cli", "--help"], capture_output=True,
                         text=True, check=True)
    assert "simulate" in run.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in run.stderr.splitlines() if "|" in line}
    assert imported.isdisjoint(HEAVY) and "dse" in imported


def test_a_built_in_command_line_needs_no_package_metadata():
    """The version comes from the source; importlib.metadata (as long to import as the parser) only for plugins."""
    code = ("import sys\nfrom dse.cli import build_parser\n"
            "parser = build_parser(['simulate'])\nparser.parse_args(['simulate', 'n.v', '--inputs', 'v.csv', "
            "'--toggles', 't.csv'])\nprint('importlib.metadata' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"

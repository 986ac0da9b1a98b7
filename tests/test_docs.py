"""What the README and the benchmarks' usage lines tell a user to run exists and runs with the project's Python."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = re.compile(r"(\S*python\S*) (benchmarks/\w+\.py)")


def commands() -> list[tuple[str, str, str]]:
    """(where, interpreter, script) of every `... python benchmarks/NAME.py` in the README and the benchmarks."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "benchmarks").glob("*.py"))]:
        for line_number, line in enumerate(path.read_text().splitlines(), 1):
            found += [(f"{path.name}:{line_number}", *match.groups()) for match in RUN.finditer(line)]
    return found


def test_benchmarks_are_run_with_the_venv_python_and_exist():
    found = commands()
    assert len(found) > 10
    for where, interpreter, script in found:
        assert interpreter.lstrip("(`") == ".venv/bin/python", f"{where}: {interpreter} {script}"
        assert script == "benchmarks/NAME.py" or (ROOT / script).is_file(), f"{where}: {script} does not exist"

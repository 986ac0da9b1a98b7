"""The package structure: layers one way, no import cycle between modules, nothing imported by name at run time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGES = ("cells", "characterize", "dse", "studies")


def test_import_contracts_are_kept():
    """The import-linter contracts of pyproject.toml: the layer order and no cycle between a package's parts."""
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("lint-imports is not installed (pip install -e '.[test]')")
    run = subprocess.run([str(lint)], cwd=SRC.parent, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_modules():
    """Not even through imports inside functions or for type checking, file against file."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    assert _cycles(edges) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_is_imported_by_name():
    """Modules are found by import statements (which the contracts see) or entry points, never by a string."""
    pattern = re.compile(r"import_module\(|__import__\(")
    offenders = [f"{path.relative_to(SRC)}:{number}" for path in sorted(SRC.rglob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), start=1) if pattern.search(line)]
    assert offenders == []


def test_built_in_commands_load_no_study_kind():
    """`dse cells list` builds its command line without loading a kind's package (and so without torch)."""
    code = ("import contextlib, io, sys; from dse.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): assert main(['cells', 'list']) == 0\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('studies', 'torch')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"

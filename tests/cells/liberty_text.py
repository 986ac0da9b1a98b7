"""Plain-text views of Liberty files, so tests check the reader against the file itself."""

from __future__ import annotations

import re

_CELL = re.compile(r'^\s*cell\s*\(\s*"?([^")\s]+)"?\s*\)\s*\{', re.MULTILINE)


def cell_blocks(text: str) -> dict[str, str]:
    """Each cell's text, from its `cell (...)` line up to the next cell."""
    starts = list(_CELL.finditer(text))
    ends = [m.start() for m in starts[1:]] + [len(text)]
    return {m.group(1): text[m.start() : end] for m, end in zip(starts, ends)}


def pin_blocks(cell_text: str) -> dict[str, str]:
    """Each pin's text inside one cell's text, up to the next pin."""
    starts = list(re.finditer(r'^\s*pin\s*\(\s*"?(\w+)"?\s*\)\s*\{', cell_text, re.MULTILINE))
    ends = [m.start() for m in starts[1:]] + [len(cell_text)]
    return {m.group(1): cell_text[m.start() : end] for m, end in zip(starts, ends)}


def attribute(text: str, name: str) -> str | None:
    """The first `name : value;` in `text`, unquoted."""
    match = re.search(r"^\s*" + name + r'\s*:\s*"?([^";]*)"?\s*;', text, re.MULTILINE)
    return match.group(1).strip() if match else None


def numbers(text: str) -> list[float]:
    """The numbers of a Liberty index/values list such as `"1, 2", \\ "3, 4"`."""
    return [float(x) for x in re.findall(r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?", text)]

"""What every figure shares: one resolution, titles that fit, saving by extension.

Matplotlib centres a title on its figure or panel and cuts whatever runs past
the edges, even under constrained layout; `fit_title` wraps a title into lines
that fit the width instead. Figures are drawn on matplotlib's object API (no
pyplot state) and saved by `save_figure`, atomically, at `FIGURE_DPI`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from cells.files import atomic_path

FIGURE_DPI = 150
CHARACTER_EM = 0.62  # upper bound of the mean character width of matplotlib's default font, in em


def fit_title(owner, text: str, **options):
    """Set `text` as the title of a Figure (its suptitle) or of an Axes, wrapped to the owner's width.

    Returns the title's Text; `options` go to `suptitle` / `set_title` (e.g. `fontsize`, `loc`).
    """
    from matplotlib import rcParams
    from matplotlib.font_manager import FontProperties

    is_figure = hasattr(owner, "suptitle")
    figure = owner if is_figure else owner.get_figure()
    width_in = figure.get_figwidth() * (1.0 if is_figure else owner.get_position().width)
    size = options.get("fontsize", rcParams["figure.titlesize" if is_figure else "axes.titlesize"])
    size_pt = FontProperties(size=size).get_size_in_points()
    columns = max(16, int(width_in * 72 / (size_pt * CHARACTER_EM)))
    wrapped = "\n".join(textwrap.fill(line, columns, break_on_hyphens=False) for line in text.splitlines())
    return owner.suptitle(wrapped, **options) if is_figure else owner.set_title(wrapped, **options)


def save_figure(figure, path: str | Path) -> Path:
    """Save `figure` to `path` atomically at `FIGURE_DPI`; the extension picks PNG, SVG or PDF."""
    with atomic_path(path) as partial:
        figure.savefig(partial, dpi=FIGURE_DPI)
    return Path(path)

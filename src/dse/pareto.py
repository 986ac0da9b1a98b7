"""Pareto fronts of objective vectors: non-dominated points, hypervolume, knee point.

Every function takes an (n, k) array of objective values and the k directions
("maximize" / "minimize") and works internally on minimization values
(maximized objectives negated).

Hypervolume is exact: a sweep in 2-D and, above, recursive slicing along the
last objective (each slab's volume is the hypervolume of the points below it
in one dimension fewer). That is exponential in k but exact and fast for the
few hundred points and two to four objectives of a study; Optuna's own
implementation (`optuna._hypervolume`) is private and is not used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_minimization(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Values with every maximized objective negated, so that smaller is better everywhere."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    if values.shape[1] != len(directions):
        raise ValueError(f"{values.shape[1]} objective columns but {len(directions)} directions")
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return values * signs


def non_dominated(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Boolean mask of the points no other point dominates (no worse everywhere, better somewhere).

    Duplicate points do not dominate each other, so all copies of a front point stay on the front.
    """
    points = as_minimization(values, directions)
    n = len(points)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort(points.T[::-1])
    mask = np.ones(n, dtype=bool)
    for position, i in enumerate(order):
        earlier = points[order[:position]]
        if len(earlier) and np.any(np.all(earlier <= points[i], axis=1) & np.any(earlier < points[i], axis=1)):
            mask[i] = False
    return mask


def hypervolume(values: np.ndarray, directions: Sequence[str], reference: Sequence[float]) -> float:
    """Volume dominated by the points and bounded by `reference` (given in the objectives' own units)."""
    points = as_minimization(values, directions)
    ref = as_minimization(np.asarray(reference, dtype=float)[None, :], directions)[0]
    points = points[np.all(points < ref, axis=1)]
    return _hypervolume(points, ref)


def _hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    if len(points) == 0:
        return 0.0
    if points.shape[1] == 1:
        return float(ref[0] - points[:, 0].min())
    if points.shape[1] == 2:
        return _hypervolume_2d(points, ref)
    points = points[np.argsort(points[:, -1], kind="stable")]
    volume = 0.0
    for i in range(len(points)):
        top = points[i + 1, -1] if i + 1 < len(points) else ref[-1]
        depth = top - points[i, -1]
        if depth > 0:
            below = points[: i + 1, :-1]
            below = below[non_dominated(below, ["minimize"] * below.shape[1])]
            volume += depth * _hypervolume(below, ref[:-1])
    return float(volume)


def _hypervolume_2d(points: np.ndarray, ref: np.ndarray) -> float:
    points = points[np.lexsort((points[:, 1], points[:, 0]))]
    volume, best_y = 0.0, ref[1]
    for x, y in points:
        if y < best_y:
            volume += (ref[0] - x) * (best_y - y)
            best_y = y
    return float(volume)


def normalized(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Minimization values scaled per objective to [0, 1] over the given points (0 = best); flat columns become 0."""
    points = as_minimization(values, directions)
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return (points - low) / span


def knee_point(values: np.ndarray, directions: Sequence[str]) -> int:
    """Index of the knee of a front (pass the front's points only).

    2-D: the point farthest from the line through the two extremes, on the side
    of the ideal point, with both axes normalized to [0, 1]. More objectives:
    the point closest to the ideal point on normalized axes. With no point
    beyond the line (a straight or concave front) the 2-D rule also falls back
    to the point closest to the ideal.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    if len(values) == 0:
        raise ValueError("a knee point needs at least one point")
    scaled = normalized(values, directions)
    to_ideal = np.linalg.norm(scaled, axis=1)
    if scaled.shape[1] == 2 and len(values) > 2:
        a, b = scaled[np.argmin(scaled[:, 0])], scaled[np.argmin(scaled[:, 1])]
        line = b - a
        length = np.linalg.norm(line)
        if length > 0:
            # Signed distance, positive on the side of the ideal point (0, 0).
            distance = (line[0] * (scaled[:, 1] - a[1]) - line[1] * (scaled[:, 0] - a[0])) / length
            side = np.sign(line[0] * (0 - a[1]) - line[1] * (0 - a[0]))
            distance = distance * side
            if distance.max() > 1e-12:
                return int(np.argmax(distance))
    return int(np.argmin(to_ideal))

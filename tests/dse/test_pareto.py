"""Non-dominated fronts, hypervolume and knee points on hand-made point sets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dse.pareto import hypervolume, knee_point, non_dominated


def brute_force_front(points: np.ndarray, directions) -> np.ndarray:
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    p = points * signs
    return np.array([not any(np.all(q <= r) and np.any(q < r) for q in p) for r in p])


def test_front_honors_directions():
    points = np.array([[1.0, 5.0], [2.0, 3.0], [3.0, 4.0], [4.0, 1.0], [2.0, 3.0]])
    assert non_dominated(points, ["minimize", "minimize"]).tolist() == [True, True, False, True, True]
    # Maximizing the second objective: (1, 5) dominates everything with a larger first value and smaller second.
    assert non_dominated(points, ["minimize", "maximize"]).tolist() == [True, False, False, False, False]


@pytest.mark.parametrize("k", [2, 3, 4])
def test_front_matches_brute_force_on_random_points(k):
    rng = np.random.default_rng(k)
    points = rng.integers(0, 6, size=(60, k)).astype(float)
    directions = ["minimize", "maximize", "minimize", "maximize"][:k]
    assert (non_dominated(points, directions) == brute_force_front(points, directions)).all()


def test_hypervolume_2d_by_hand():
    # Staircase of (1, 3), (2, 2), (3, 1) against reference (4, 4): 3 + 2 + 1 = 6 unit squares.
    points = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.5, 3.5]])
    assert hypervolume(points, ["minimize", "minimize"], [4.0, 4.0]) == pytest.approx(6.0)
    # Same set with the second objective maximized (values negated) and reference -4.
    assert hypervolume(points * [1, -1], ["minimize", "maximize"], [4.0, -4.0]) == pytest.approx(6.0)
    # Points beyond the reference contribute nothing.
    assert hypervolume(np.array([[5.0, 0.0]]), ["minimize", "minimize"], [4.0, 4.0]) == 0.0


def test_hypervolume_3d_by_hand():
    # p=(0,0,2) dominates the slab 3x3x1 (z from 2 to 3); q=(2,2,0) dominates 1x1x3; overlap 1x1x1.
    points = np.array([[0.0, 0.0, 2.0], [2.0, 2.0, 0.0]])
    assert hypervolume(points, ["minimize"] * 3, [3.0, 3.0, 3.0]) == pytest.approx(9 + 3 - 1)


def test_hypervolume_nd_matches_inclusion_exclusion():
    rng = np.random.default_rng(7)
    points = rng.uniform(0, 1, size=(6, 4))
    ref = np.ones(4)
    exact = 0.0
    for r in range(1, len(points) + 1):
        for subset in itertools.combinations(points, r):
            exact += (-1) ** (r + 1) * np.prod(ref - np.max(subset, axis=0))
    assert hypervolume(points, ["minimize"] * 4, ref) == pytest.approx(exact)


def test_knee_2d_is_farthest_from_the_line_between_extremes():
    # Convex front; normalized: (0, 1), (0.1, 0.4), (0.5, 0.1), (1, 0). Distances to the line x + y = 1
    # are 0, 0.5, 0.4, 0 (times 1/sqrt 2): the second point is the knee.
    points = np.array([[0.0, 10.0], [1.0, 4.0], [5.0, 1.0], [10.0, 0.0]])
    assert knee_point(points, ["minimize", "minimize"]) == 1
    # Maximizing the second objective of the mirrored set picks the same point.
    assert knee_point(points * [1, -1], ["minimize", "maximize"]) == 1


def test_knee_3d_is_closest_to_the_ideal_point():
    points = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.4, 0.4, 0.4]])
    assert knee_point(points, ["minimize"] * 3) == 3
